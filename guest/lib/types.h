/* Fixed-width integer types; the guests are freestanding, so no <stdint.h> from a libc. The
   compiler's own macros give the right widths for both the 64-bit test guest and the 32-bit
   bench guest (usize is 32 bits there, u64 still 64). */
#ifndef GUESTLIB_TYPES_H
#define GUESTLIB_TYPES_H

typedef __UINT8_TYPE__ u8;
typedef __UINT16_TYPE__ u16;
typedef __UINT32_TYPE__ u32;
typedef __UINT64_TYPE__ u64;
typedef __SIZE_TYPE__ usize;

#define NULL ((void *)0)

#endif
