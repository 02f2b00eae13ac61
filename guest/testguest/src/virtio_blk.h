/*
 * A minimal polled virtio 1.x (modern) block driver with one split virtqueue, over virtio-pci
 * or, when the command line has a `virtio_mmio.device=` word, over virtio-mmio (version 2).
 *
 * Everything the device reads or writes sits at fixed guest-physical addresses in
 * [0x300000, 0x307000), well clear of the image at 1 MiB and below any plausible RAM size,
 * so a snapshot of guest RAM carries the whole driver state.
 */
#ifndef TESTGUEST_VIRTIO_BLK_H
#define TESTGUEST_VIRTIO_BLK_H

#include "pci.h"
#include "types.h"

#define VBLK_QUEUE_DESC 0x300000ul
#define VBLK_QUEUE_AVAIL 0x301000ul
#define VBLK_QUEUE_USED 0x302000ul
#define VBLK_REQUEST_HEADER 0x303000ul
#define VBLK_REQUEST_STATUS 0x303800ul
#define VBLK_BUFFER_OUT 0x304000ul
#define VBLK_BUFFER_IN 0x305000ul
#define VBLK_BUFFER_ID 0x306000ul

#define VBLK_MAX_QUEUE_SIZE 16

enum {
    VIRTIO_BLK_T_IN = 0,
    VIRTIO_BLK_T_OUT = 1,
    VIRTIO_BLK_T_FLUSH = 4,
    VIRTIO_BLK_T_GET_ID = 8,
    VIRTQ_DESC_F_NEXT = 1,
    VIRTQ_DESC_F_WRITE = 2,
    VIRTIO_STATUS_NEEDS_RESET = 0x40,
};

struct virtq_desc {
    u64 addr;
    u32 len;
    u16 flags;
    u16 next;
};

struct virtio_blk_request_header {
    u32 type;
    u32 reserved;
    u64 sector;
};

struct virtio_blk {
    u64 mmio_base; /* the virtio-mmio window; 0 on virtio-pci */
    struct pci_address pci;
    u64 common_cfg;
    u64 device_cfg;
    u64 notify_address; /* notify base + queue_notify_off * multiplier, for queue 0 */
    u64 notify_base;
    u32 notify_length;
    u32 notify_multiplier;
    u16 queue_size;
    u16 next_avail_index;
    u16 last_used_index;
    int has_flush;
    u64 capacity_sectors;
};

enum vblk_outcome {
    VBLK_USED,        /* the device returned the chain in the used ring */
    VBLK_NEEDS_RESET, /* device_status has DEVICE_NEEDS_RESET */
    VBLK_TIMEOUT,     /* neither within the time limit */
};

/* Finds the device: the first `virtio_mmio.device=SIZE@0xBASE:IRQ` word of cmdline if there is
   one, else 1af4:1042 on PCI bus 0 and its capabilities. On failure returns 0 and sets *why. */
int vblk_probe(struct virtio_blk *blk, const char *cmdline, const char **why);

/* Resets the device and runs the full initialisation up to DRIVER_OK. */
int vblk_init(struct virtio_blk *blk, const char **why);

u8 vblk_device_status(const struct virtio_blk *blk);

/* The descriptor table, for building chains by hand. */
static inline volatile struct virtq_desc *vblk_descriptors(void) {
    return (volatile struct virtq_desc *)VBLK_QUEUE_DESC;
}

/* Makes `head` available and notifies the device. */
void vblk_publish(struct virtio_blk *blk, u16 head);

/* Polls for the next used element; *used_length gets its len when VBLK_USED. */
enum vblk_outcome vblk_wait(struct virtio_blk *blk, u32 milliseconds, u32 *used_length);

/*
 * Sends one request as header + data (omitted when length is 0) + status descriptors and
 * waits up to `milliseconds`; *status gets the status byte (0xFF if the device left it).
 */
enum vblk_outcome vblk_request(struct virtio_blk *blk, u32 type, u64 sector, u64 data, u32 length,
                               u32 milliseconds, u8 *status);

#endif
