/* Console on the 16550 UART at 0x3F8 (COM1), polled through its line status register. */
#ifndef GUESTLIB_UART_H
#define GUESTLIB_UART_H

#include "types.h"

void serial_init(void); /* IER = 0: the UART never raises its interrupt line */
void serial_putc(char c);
int serial_getc(void); /* blocks until a byte arrives */
void print(const char *text);
void print_dec(usize value); /* usize: the 32-bit guest has no 64-bit division without libgcc */

#endif
