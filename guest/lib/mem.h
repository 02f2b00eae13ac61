/* The few libc-style memory and string helpers the guests need. */
#ifndef GUESTLIB_MEM_H
#define GUESTLIB_MEM_H

#include "types.h"

/* gcc may emit calls to these even with -ffreestanding, so they keep their libc names. */
void *memset(void *dst, int value, usize count);
void *memcpy(void *dst, const void *src, usize count);
int memcmp(const void *a, const void *b, usize count);

int str_equal(const char *a, const char *b);

/* Parses a non-empty string of decimal digits that fits in 32 bits; returns 0 otherwise. */
int parse_u32(const char *text, u32 *value);

#endif
