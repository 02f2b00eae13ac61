/*
 * test=chaos [seed=N] [seconds=S]: a hostile guest. For S seconds (default 60) it writes
 * pseudo-random values, from a xorshift generator seeded with N (default from the PIT), to
 * random I/O ports, to the virtio-pci device's BAR, to PCI configuration space, and into a
 * live virtqueue's descriptor table and available ring, kicking it. The VMM must survive all
 * of it; the guest only needs to survive long enough to say so.
 *
 * Left alone, because they end or blind the guest rather than test the VMM: the i8042
 * command port 0x64 (0xFE resets), 0x92 and 0xCF9 (reset), the ACPI power ports 0x600-0x602,
 * the PIT and port 0x61 (our clock), the PIC pair (KVM's, not the VMM's), and the UART's line
 * and modem control registers (our console). MSI-X data words keep delivery mode "fixed", so
 * no INIT or NMI reaches a guest without an IDT; queue addresses written through the common
 * configuration are forced above 2 GiB, so device writes never land on our page tables.
 */
#include "cmdline.h"
#include "mmio.h"
#include "pci.h"
#include "reset.h"
#include "scenarios.h"
#include "timer.h"
#include "uart.h"
#include "virtio_blk.h"

enum {
    CHAOS_DEFAULT_SECONDS = 60,
    CHAOS_SCRATCH = 0x300000, /* the virtio_blk.h area: rings and buffers */
    CHAOS_SCRATCH_SIZE = 0x10000,
    VIRTIO_BAR_SIZE = 0x8000,
    MSIX_TABLE = 0x4000,
    MSIX_TABLE_END = 0x5000,
    COMMON_QUEUE_ADDRESSES = 0x20,
    COMMON_QUEUE_ADDRESSES_END = 0x38,
};

static u64 state;

static u64 next_random(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static int port_is_spared_byte(u16 port) {
    return port == 0x64 || port == 0x92 || port == 0xCF9 || (port >= 0x600 && port <= 0x602) ||
           (port >= 0x40 && port <= 0x43) || port == 0x61 || port == 0x20 || port == 0x21 || port == 0xA0 ||
           port == 0xA1 || port == 0x3FB || port == 0x3FC;
}

/* The BAR where the guest may poke it: inside the MMIO hole, clear of the IOAPIC and LAPIC.
   Chaos may have moved it anywhere, RAM included, and writing there would hit our own pages. */
static u64 usable_bar(struct virtio_blk *blk) {
    u64 bar = pci_memory_bar(blk->pci, 0);
    return bar >= 0xC0000000ul && bar + VIRTIO_BAR_SIZE <= 0xFEC00000ul ? bar : 0;
}

/* A 2- or 4-byte access reaches the ports after `port` too. */
static int port_is_spared(u16 port, u32 width) {
    for (u32 i = 0; i < width; i++)
        if (port_is_spared_byte((u16)(port + i))) return 1;
    return 0;
}

static void random_port_write(void) {
    u64 r = next_random();
    u16 port = (u16)r;
    /* Half the writes go to the ports the VMM serves, where the bugs would be. */
    if (r & (1ul << 16)) {
        static const u16 served[] = {0x60, 0x3F8, 0x3F9, 0x3FA, 0x3FD, 0x3FE, 0x3FF, 0x70, 0x71, 0xCF8, 0xCFC, 0xCFE};
        port = served[(r >> 20) % (sizeof served / sizeof served[0])];
    }
    u32 value = (u32)(r >> 32);
    u32 width = ((r >> 17) & 3) == 0 ? 2 : ((r >> 17) & 3) == 1 ? 4 : 1;
    if (port_is_spared(port, width)) return;
    switch ((r >> 17) & 3) {
    case 0: outw(port, (u16)value); break;
    case 1: outl(port, value); break;
    default: outb(port, (u8)value); break;
    }
}

static void random_config_write(void) {
    u64 r = next_random();
    struct pci_address at = {0, (u8)((r >> 8) & 31), 0};
    u8 offset = (u8)r;
    u32 value = (u32)(r >> 32);
    if (r & (1ul << 13)) pci_write32(at, offset & 0xFC, value);
    else pci_write16(at, offset & 0xFE, (u16)value);
}

static void random_bar_write(u64 bar) {
    u64 r = next_random();
    u32 offset = (u32)(r % VIRTIO_BAR_SIZE);
    u32 value = (u32)(r >> 32);
    if (offset >= COMMON_QUEUE_ADDRESSES && offset < COMMON_QUEUE_ADDRESSES_END) value |= 0x80000000u;
    if (offset >= MSIX_TABLE && offset < MSIX_TABLE_END && (offset & 0xC) == 8) value &= ~0x700u;
    if (r & (1ul << 15)) (void)mmio_read32(bar + (offset & ~3u));
    switch ((r >> 16) & 3) {
    case 0: mmio_write8(bar + offset, (u8)value); break;
    case 1: mmio_write16(bar + (offset & ~1u), (u16)value); break;
    default: mmio_write32(bar + (offset & ~3u), value); break;
    }
}

/* Garbage descriptors (some pointing into the scratch area, most anywhere) and a garbage
   available ring, then a kick. */
static void ring_garbage(struct virtio_blk *blk) {
    volatile struct virtq_desc *descriptors = vblk_descriptors();
    for (u16 i = 0; i < VBLK_MAX_QUEUE_SIZE; i++) {
        u64 r = next_random();
        descriptors[i].addr = (r & 1) ? CHAOS_SCRATCH + 0x3000 + ((r >> 8) & 0x3FFF) : next_random();
        descriptors[i].len = (r & 2) ? (u32)((r >> 24) & 0x1FFF) : (u32)(r >> 32);
        descriptors[i].flags = (u16)((r >> 40) & 7);
        descriptors[i].next = (u16)((r >> 44) & 31);
    }
    volatile u16 *header = (volatile u16 *)VBLK_QUEUE_AVAIL;
    for (u16 i = 0; i < 2 + VBLK_MAX_QUEUE_SIZE + 1; i++) header[i] = (u16)next_random();
    /* Request headers in the scratch area: random types and sectors. */
    volatile u64 *scratch = (volatile u64 *)(CHAOS_SCRATCH + 0x3000);
    for (u32 i = 0; i < 0x4000 / 8; i += 97) scratch[i] = next_random();
    barrier();
    mmio_write16(blk->notify_address, 0);
}

void scenario_chaos(const char *cmdline) {
    u32 seconds = cmdline_u32(cmdline, "seconds", CHAOS_DEFAULT_SECONDS);
    u32 seed = cmdline_u32(cmdline, "seed", 0);
    if (seed == 0) {
        outb(0x43, 0x00); /* latch PIT channel 0 */
        seed = inb(0x40) | (u32)inb(0x40) << 8 | 0x5EED0000u;
    }
    state = (u64)seed * 0x9E3779B97F4A7C15ul | 1;
    print("chaos: seed ");
    print_dec(seed);
    print(" seconds ");
    print_dec(seconds);
    serial_putc('\n');

    struct virtio_blk blk;
    const char *why = "";
    int have_blk = vblk_probe(&blk, cmdline, &why) && vblk_init(&blk, &why);
    if (!have_blk) {
        print("chaos: no virtio-blk (");
        print(why);
        print("), ports and config space only\n");
    }
    u64 bar = have_blk ? usable_bar(&blk) : 0;

    struct timeout timeout;
    timeout_start(&timeout, seconds * 1000);
    u64 rounds = 0;
    while (!timeout_expired(&timeout)) {
        for (u32 i = 0; i < 256; i++) {
            switch (next_random() & 3) {
            case 0: random_port_write(); break;
            case 1: random_config_write(); break;
            default:
                if (bar) random_bar_write(bar);
                break;
            }
        }
        if (have_blk && bar) {
            ring_garbage(&blk);
            /* Now and then start over, so the queue is live again after NEEDS_RESET. */
            if ((rounds & 63) == 0) {
                pci_enable(blk.pci);
                bar = usable_bar(&blk);
                if (bar && vblk_probe(&blk, cmdline, &why)) (void)vblk_init(&blk, &why);
            }
        }
        rounds++;
    }
    outb(0x3FB, 0x03);
    outb(0x3FC, 0x0B);
    serial_init();
    print("chaos: done, rounds ");
    print_dec(rounds);
    serial_putc('\n');
    halt_forever();
}
