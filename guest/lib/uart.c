#include "uart.h"
#include "portio.h"

enum {
    UART_BASE = 0x3F8,
    UART_DATA = UART_BASE + 0,
    UART_IER = UART_BASE + 1,
    UART_LSR = UART_BASE + 5,
    LSR_DATA_READY = 0x01,
    LSR_THR_EMPTY = 0x20,
};

void serial_init(void) {
    /* We poll, so make sure the UART never raises its interrupt line. */
    outb(UART_IER, 0);
}

void serial_putc(char c) {
    while (!(inb(UART_LSR) & LSR_THR_EMPTY)) {
    }
    outb(UART_DATA, (u8)c);
}

int serial_getc(void) {
    while (!(inb(UART_LSR) & LSR_DATA_READY)) {
    }
    return inb(UART_DATA);
}

void print(const char *text) {
    while (*text) serial_putc(*text++);
}

void print_dec(usize value) {
    char digits[21];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    while (n) serial_putc(digits[--n]);
}
