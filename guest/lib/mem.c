#include "mem.h"

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

int parse_u32(const char *text, u32 *value) {
    u32 result = 0;
    if (!*text) return 0;
    for (; *text; text++) {
        if (*text < '0' || *text > '9') return 0;
        u32 digit = (u32)(*text - '0');
        if (result > (0xFFFFFFFFu - digit) / 10) return 0;
        result = result * 10 + digit;
    }
    *value = result;
    return 1;
}
