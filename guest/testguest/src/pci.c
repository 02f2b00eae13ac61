#include "pci.h"
#include "portio.h"

enum {
    PCI_CONFIG_ADDRESS = 0xCF8,
    PCI_CONFIG_DATA = 0xCFC,
    PCI_COMMAND = 0x04,
    PCI_COMMAND_MEMORY = 0x02,
    PCI_COMMAND_BUS_MASTER = 0x04,
    PCI_HEADER_TYPE = 0x0E,
    PCI_BAR0 = 0x10,
    BAR_IO = 0x1,
    BAR_TYPE_MASK = 0x6,
    BAR_TYPE_64 = 0x4,
};

/* Where BARs go when the VMM did not place them; bumped past each assignment. */
static u64 next_free_bar_address = 0xE0000000;

static void select_register(struct pci_address at, u8 offset) {
    outl(PCI_CONFIG_ADDRESS, 0x80000000u | ((u32)at.bus << 16) | ((u32)(at.device & 0x1F) << 11) |
                                 ((u32)(at.function & 7) << 8) | (offset & 0xFC));
}

u32 pci_read32(struct pci_address at, u8 offset) {
    select_register(at, offset);
    return inl(PCI_CONFIG_DATA);
}

u16 pci_read16(struct pci_address at, u8 offset) {
    select_register(at, offset);
    return inw(PCI_CONFIG_DATA + (offset & 2));
}

u8 pci_read8(struct pci_address at, u8 offset) {
    select_register(at, offset);
    return inb(PCI_CONFIG_DATA + (offset & 3));
}

void pci_write32(struct pci_address at, u8 offset, u32 value) {
    select_register(at, offset);
    outl(PCI_CONFIG_DATA, value);
}

void pci_write16(struct pci_address at, u8 offset, u16 value) {
    select_register(at, offset);
    outw(PCI_CONFIG_DATA + (offset & 2), value);
}

int pci_find(u16 vendor, u16 device, struct pci_address *found) {
    for (u8 slot = 0; slot < 32; slot++) {
        struct pci_address at = {0, slot, 0};
        u32 id = pci_read32(at, 0);
        if ((id & 0xFFFF) == 0xFFFF) continue;
        u8 functions = (pci_read8(at, PCI_HEADER_TYPE) & 0x80) ? 8 : 1;
        for (u8 function = 0; function < functions; function++) {
            at.function = function;
            if (function) id = pci_read32(at, 0);
            if ((id & 0xFFFF) == vendor && (id >> 16) == device) {
                *found = at;
                return 1;
            }
        }
    }
    return 0;
}

/* Sizes a BAR with the all-ones probe; memory decoding must be off meanwhile. */
static u64 bar_size(struct pci_address at, u8 offset, int is64) {
    u32 low = pci_read32(at, offset);
    pci_write32(at, offset, 0xFFFFFFFF);
    u32 low_mask = pci_read32(at, offset) & ~0xFu;
    pci_write32(at, offset, low);
    u64 mask = low_mask;
    if (is64) {
        u32 high = pci_read32(at, offset + 4);
        pci_write32(at, offset + 4, 0xFFFFFFFF);
        mask |= (u64)pci_read32(at, offset + 4) << 32;
        pci_write32(at, offset + 4, high);
    } else {
        mask |= 0xFFFFFFFF00000000ul;
    }
    return mask ? ~mask + 1 : 0;
}

u64 pci_memory_bar(struct pci_address at, u8 index) {
    if (index > 5) return 0;
    u8 offset = PCI_BAR0 + index * 4;
    u32 low = pci_read32(at, offset);
    if (low & BAR_IO) return 0;
    int is64 = (low & BAR_TYPE_MASK) == BAR_TYPE_64;
    if (is64 && index == 5) return 0;
    u64 base = low & ~0xFul;
    if (is64) base |= (u64)pci_read32(at, offset + 4) << 32;
    if (base != 0 && base + 0x1000 <= 0x100000000ul) return base;

    u16 command = pci_read16(at, PCI_COMMAND);
    pci_write16(at, PCI_COMMAND, command & ~PCI_COMMAND_MEMORY);
    u64 size = bar_size(at, offset, is64);
    if (size == 0 || size > 0x10000000ul) return 0;
    base = (next_free_bar_address + size - 1) & ~(size - 1);
    next_free_bar_address = base + size;
    pci_write32(at, offset, (u32)base | (low & 0xF));
    if (is64) pci_write32(at, offset + 4, 0);
    pci_write16(at, PCI_COMMAND, command);
    return base;
}

void pci_enable(struct pci_address at) {
    u16 command = pci_read16(at, PCI_COMMAND);
    pci_write16(at, PCI_COMMAND, command | PCI_COMMAND_MEMORY | PCI_COMMAND_BUS_MASTER);
}
