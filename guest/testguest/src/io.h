/*
 * Port I/O, MMIO and ordering helpers.
 *
 * MMIO goes through volatile pointers of the exact width so the VMM sees one access of that
 * size. No fence instructions: x86 keeps stores in order and loads in order (TSO), and
 * mfence/sfence may not be emulated at CPL0 on PVM hosts; a compiler barrier is enough.
 */
#ifndef TESTGUEST_IO_H
#define TESTGUEST_IO_H

#include "types.h"

static inline void outb(u16 port, u8 value) { __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port)); }
static inline void outw(u16 port, u16 value) { __asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port)); }
static inline void outl(u16 port, u32 value) { __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port)); }

static inline u8 inb(u16 port) {
    u8 value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}
static inline u16 inw(u16 port) {
    u16 value;
    __asm__ volatile("inw %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}
static inline u32 inl(u16 port) {
    u32 value;
    __asm__ volatile("inl %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

static inline void barrier(void) { __asm__ volatile("" : : : "memory"); }

static inline u8 mmio_read8(u64 addr) { return *(volatile u8 *)addr; }
static inline u16 mmio_read16(u64 addr) { return *(volatile u16 *)addr; }
static inline u32 mmio_read32(u64 addr) { return *(volatile u32 *)addr; }
static inline void mmio_write8(u64 addr, u8 value) { *(volatile u8 *)addr = value; }
static inline void mmio_write16(u64 addr, u16 value) { *(volatile u16 *)addr = value; }
static inline void mmio_write32(u64 addr, u32 value) { *(volatile u32 *)addr = value; }

#endif
