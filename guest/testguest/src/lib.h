/* The few libc-style helpers the guest needs, plus console output and reboot. */
#ifndef TESTGUEST_LIB_H
#define TESTGUEST_LIB_H

#include "types.h"

/* gcc may emit calls to these even with -ffreestanding, so they keep their libc names. */
void *memset(void *dst, int value, usize count);
void *memcpy(void *dst, const void *src, usize count);
int memcmp(const void *a, const void *b, usize count);

int str_equal(const char *a, const char *b);

/* Console on the 16550 UART at 0x3F8, polled. */
void serial_init(void);
void serial_putc(char c);
int serial_getc(void); /* blocks until a byte arrives */
void print(const char *text);
void print_dec(u64 value);

/* i8042 reset, then hlt forever as a fallback. */
__attribute__((noreturn)) void reboot(void);

#endif
