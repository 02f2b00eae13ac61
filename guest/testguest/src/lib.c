#include "lib.h"
#include "io.h"

void *memset(void *dst, int value, usize count) {
    u8 *d = dst;
    while (count--) *d++ = (u8)value;
    return dst;
}

void *memcpy(void *dst, const void *src, usize count) {
    u8 *d = dst;
    const u8 *s = src;
    while (count--) *d++ = *s++;
    return dst;
}

int memcmp(const void *a, const void *b, usize count) {
    const u8 *x = a, *y = b;
    for (; count; count--, x++, y++) {
        if (*x != *y) return *x < *y ? -1 : 1;
    }
    return 0;
}

int str_equal(const char *a, const char *b) {
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

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

void print_dec(u64 value) {
    char digits[21];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    while (n) serial_putc(digits[--n]);
}

void reboot(void) {
    outb(0x64, 0xFE);
    for (;;) __asm__ volatile("cli; hlt");
}
