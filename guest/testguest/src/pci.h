/* PCI configuration mechanism #1 (0xCF8/0xCFC), bus 0 only. */
#ifndef TESTGUEST_PCI_H
#define TESTGUEST_PCI_H

#include "types.h"

struct pci_address {
    u8 bus, device, function;
};

u32 pci_read32(struct pci_address at, u8 offset);
u16 pci_read16(struct pci_address at, u8 offset);
u8 pci_read8(struct pci_address at, u8 offset);
void pci_write32(struct pci_address at, u8 offset, u32 value);
void pci_write16(struct pci_address at, u8 offset, u16 value);

/* Finds vendor:device on bus 0; returns 0 if absent. */
int pci_find(u16 vendor, u16 device, struct pci_address *found);

/*
 * Returns the guest-physical base of memory BAR `index`, assigning an address at 0xE000_0000
 * or above if firmware (the VMM) left it unassigned or above 4 GiB, which the boot page
 * tables do not map. Returns 0 for I/O BARs or an invalid index.
 */
u64 pci_memory_bar(struct pci_address at, u8 index);

/* Enables memory decoding and bus mastering. */
void pci_enable(struct pci_address at);

#endif
