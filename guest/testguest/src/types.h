/* Fixed-width integer types; the guest is freestanding, so no <stdint.h> from a libc. */
#ifndef TESTGUEST_TYPES_H
#define TESTGUEST_TYPES_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef unsigned long usize;

#define NULL ((void *)0)

#endif
