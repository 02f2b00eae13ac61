/*
 * MMIO helpers (port I/O and barrier() come from the shared guest/lib/portio.h).
 *
 * MMIO goes through volatile pointers of the exact width so the VMM sees one access of that
 * size. No fence instructions: x86 keeps stores in order and loads in order (TSO), and
 * mfence/sfence may not be emulated at CPL0 on PVM hosts; a compiler barrier is enough.
 */
#ifndef TESTGUEST_MMIO_H
#define TESTGUEST_MMIO_H

#include "portio.h"

static inline u8 mmio_read8(u64 addr) { return *(volatile u8 *)addr; }
static inline u16 mmio_read16(u64 addr) { return *(volatile u16 *)addr; }
static inline u32 mmio_read32(u64 addr) { return *(volatile u32 *)addr; }
static inline void mmio_write8(u64 addr, u8 value) { *(volatile u8 *)addr = value; }
static inline void mmio_write16(u64 addr, u16 value) { *(volatile u16 *)addr = value; }
static inline void mmio_write32(u64 addr, u32 value) { *(volatile u32 *)addr = value; }

#endif
