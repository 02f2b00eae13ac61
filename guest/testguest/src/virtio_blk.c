#include "virtio_blk.h"
#include "cmdline.h"
#include "mem.h"
#include "mmio.h"
#include "timer.h"

enum {
    VIRTIO_VENDOR = 0x1AF4,
    VIRTIO_BLK_MODERN = 0x1042,
    PCI_STATUS = 0x06,
    PCI_STATUS_CAP_LIST = 0x10,
    PCI_CAP_POINTER = 0x34,
    PCI_CAP_VENDOR = 0x09,
    VIRTIO_CAP_COMMON = 1,
    VIRTIO_CAP_NOTIFY = 2,
    VIRTIO_CAP_ISR = 3,
    VIRTIO_CAP_DEVICE = 4,

    /* common configuration layout */
    COMMON_DFSELECT = 0x00,
    COMMON_DF = 0x04,
    COMMON_GFSELECT = 0x08,
    COMMON_GF = 0x0C,
    COMMON_STATUS = 0x14,
    COMMON_GENERATION = 0x15,
    COMMON_Q_SELECT = 0x16,
    COMMON_Q_SIZE = 0x18,
    COMMON_Q_MSIX = 0x1A,
    COMMON_Q_ENABLE = 0x1C,
    COMMON_Q_NOTIFY_OFF = 0x1E,
    COMMON_Q_DESC = 0x20,
    COMMON_Q_AVAIL = 0x28,
    COMMON_Q_USED = 0x30,
    COMMON_MIN_LENGTH = 0x38,

    STATUS_ACKNOWLEDGE = 1,
    STATUS_DRIVER = 2,
    STATUS_DRIVER_OK = 4,
    STATUS_FEATURES_OK = 8,
    STATUS_FAILED = 0x80,

    FEATURE_FLUSH = 1u << 9,  /* low word */
    FEATURE_VERSION_1 = 1u << 0, /* high word: bit 32 */

    /* virtio-mmio registers (all 32 bits wide), from the window base */
    MMIO_MAGIC = 0x000,
    MMIO_VERSION = 0x004,
    MMIO_DEVICE_ID = 0x008,
    MMIO_DEVICE_FEATURES = 0x010,
    MMIO_DEVICE_FEATURES_SEL = 0x014,
    MMIO_DRIVER_FEATURES = 0x020,
    MMIO_DRIVER_FEATURES_SEL = 0x024,
    MMIO_QUEUE_SEL = 0x030,
    MMIO_QUEUE_NUM_MAX = 0x034,
    MMIO_QUEUE_NUM = 0x038,
    MMIO_QUEUE_READY = 0x044,
    MMIO_QUEUE_NOTIFY = 0x050,
    MMIO_STATUS = 0x070,
    MMIO_QUEUE_DESC = 0x080,
    MMIO_QUEUE_AVAIL = 0x090,
    MMIO_QUEUE_USED = 0x0A0,
    MMIO_CONFIG_GENERATION = 0x0FC,
    MMIO_CONFIG = 0x100,
    MMIO_MAGIC_VALUE = 0x74726976, /* "virt" */
    VIRTIO_ID_BLOCK = 2,
    MMIO_WORD_MAX = 48,

    NO_VECTOR = 0xFFFF,
    RESET_TIMEOUT_MS = 1000,
};

struct virtq_avail {
    u16 flags;
    u16 idx;
    u16 ring[VBLK_MAX_QUEUE_SIZE];
    u16 used_event;
};

struct virtq_used_elem {
    u32 id;
    u32 len;
};

struct virtq_used {
    u16 flags;
    u16 idx;
    struct virtq_used_elem ring[VBLK_MAX_QUEUE_SIZE];
    u16 avail_event;
};

static volatile struct virtq_avail *const avail = (volatile struct virtq_avail *)VBLK_QUEUE_AVAIL;
static volatile struct virtq_used *const used = (volatile struct virtq_used *)VBLK_QUEUE_USED;

struct capability {
    u8 found;
    u8 bar;
    u32 offset;
    u32 length;
};

/* The base address in a `SIZE@0xBASE:IRQ` value (Linux's virtio_mmio.device= syntax); 0 if it
   has none. */
static u64 mmio_word_base(const char *value) {
    while (*value && *value != '@') value++;
    if (value[0] != '@' || value[1] != '0' || (value[2] != 'x' && value[2] != 'X')) return 0;
    u64 base = 0;
    int digits = 0;
    for (const char *c = value + 3; *c && *c != ':'; c++, digits++) {
        u8 digit;
        if (*c >= '0' && *c <= '9') digit = (u8)(*c - '0');
        else if (*c >= 'a' && *c <= 'f') digit = (u8)(*c - 'a' + 10);
        else if (*c >= 'A' && *c <= 'F') digit = (u8)(*c - 'A' + 10);
        else return 0;
        if (digits >= 8) return 0; /* the identity map ends at 4 GiB */
        base = (base << 4) | digit;
    }
    return base;
}

static int probe_mmio(struct virtio_blk *blk, u64 base, const char **why) {
    if (mmio_read32(base + MMIO_MAGIC) != MMIO_MAGIC_VALUE) {
        *why = "virtio-mmio window has no magic value";
        return 0;
    }
    if (mmio_read32(base + MMIO_VERSION) != 2) {
        *why = "virtio-mmio device is not version 2";
        return 0;
    }
    if (mmio_read32(base + MMIO_DEVICE_ID) != VIRTIO_ID_BLOCK) {
        *why = "virtio-mmio device is not a block device";
        return 0;
    }
    blk->mmio_base = base;
    blk->device_cfg = base + MMIO_CONFIG;
    blk->notify_address = base + MMIO_QUEUE_NOTIFY;
    return 1;
}

int vblk_probe(struct virtio_blk *blk, const char *cmdline, const char **why) {
    memset(blk, 0, sizeof(*blk));
    char word[MMIO_WORD_MAX + 1];
    if (cmdline_value(cmdline, "virtio_mmio.device", word, MMIO_WORD_MAX)) {
        u64 base = mmio_word_base(word);
        if (!base) {
            *why = "cannot parse the virtio_mmio.device= word";
            return 0;
        }
        return probe_mmio(blk, base, why);
    }
    if (!pci_find(VIRTIO_VENDOR, VIRTIO_BLK_MODERN, &blk->pci)) {
        *why = "no virtio-blk device 1af4:1042 on PCI bus 0";
        return 0;
    }
    if (!(pci_read16(blk->pci, PCI_STATUS) & PCI_STATUS_CAP_LIST)) {
        *why = "device has no capability list";
        return 0;
    }

    struct capability caps[5] = {{0}};
    u8 pointer = pci_read8(blk->pci, PCI_CAP_POINTER) & 0xFC;
    /* Bounded walk: a malformed list could loop. */
    for (int hops = 0; pointer >= 0x40 && hops < 48; hops++) {
        u8 id = pci_read8(blk->pci, pointer);
        if (id == PCI_CAP_VENDOR) {
            u8 type = pci_read8(blk->pci, pointer + 3);
            if (type >= VIRTIO_CAP_COMMON && type <= VIRTIO_CAP_DEVICE && !caps[type].found) {
                caps[type].found = 1;
                caps[type].bar = pci_read8(blk->pci, pointer + 4);
                caps[type].offset = pci_read32(blk->pci, pointer + 8);
                caps[type].length = pci_read32(blk->pci, pointer + 12);
                if (type == VIRTIO_CAP_NOTIFY) blk->notify_multiplier = pci_read32(blk->pci, pointer + 16);
            }
        }
        pointer = pci_read8(blk->pci, pointer + 1) & 0xFC;
    }
    if (!caps[VIRTIO_CAP_COMMON].found || !caps[VIRTIO_CAP_NOTIFY].found || !caps[VIRTIO_CAP_ISR].found ||
        !caps[VIRTIO_CAP_DEVICE].found) {
        *why = "missing virtio common/notify/isr/device capability";
        return 0;
    }
    if (caps[VIRTIO_CAP_COMMON].length < COMMON_MIN_LENGTH || caps[VIRTIO_CAP_DEVICE].length < 8) {
        *why = "virtio capability too short";
        return 0;
    }

    u64 bases[6] = {0};
    for (int type = VIRTIO_CAP_COMMON; type <= VIRTIO_CAP_DEVICE; type++) {
        u8 bar = caps[type].bar;
        if (bar > 5) {
            *why = "virtio capability names an invalid BAR";
            return 0;
        }
        if (!bases[bar]) bases[bar] = pci_memory_bar(blk->pci, bar);
        if (!bases[bar]) {
            *why = "virtio capability BAR is not a usable memory BAR";
            return 0;
        }
    }
    pci_enable(blk->pci);

    blk->common_cfg = bases[caps[VIRTIO_CAP_COMMON].bar] + caps[VIRTIO_CAP_COMMON].offset;
    blk->device_cfg = bases[caps[VIRTIO_CAP_DEVICE].bar] + caps[VIRTIO_CAP_DEVICE].offset;
    blk->notify_base = bases[caps[VIRTIO_CAP_NOTIFY].bar] + caps[VIRTIO_CAP_NOTIFY].offset;
    blk->notify_length = caps[VIRTIO_CAP_NOTIFY].length;
    return 1;
}

u8 vblk_device_status(const struct virtio_blk *blk) {
    if (blk->mmio_base) return (u8)mmio_read32(blk->mmio_base + MMIO_STATUS);
    return mmio_read8(blk->common_cfg + COMMON_STATUS);
}

static void set_status(struct virtio_blk *blk, u8 status) {
    if (blk->mmio_base) {
        mmio_write32(blk->mmio_base + MMIO_STATUS, status);
    } else {
        mmio_write8(blk->common_cfg + COMMON_STATUS, status);
    }
}

/* The feature registers are 32 bits wide on both transports; only their offsets differ. */
static u32 device_features(struct virtio_blk *blk, u32 word) {
    if (blk->mmio_base) {
        mmio_write32(blk->mmio_base + MMIO_DEVICE_FEATURES_SEL, word);
        return mmio_read32(blk->mmio_base + MMIO_DEVICE_FEATURES);
    }
    mmio_write32(blk->common_cfg + COMMON_DFSELECT, word);
    return mmio_read32(blk->common_cfg + COMMON_DF);
}

static void driver_features(struct virtio_blk *blk, u32 word, u32 value) {
    if (blk->mmio_base) {
        mmio_write32(blk->mmio_base + MMIO_DRIVER_FEATURES_SEL, word);
        mmio_write32(blk->mmio_base + MMIO_DRIVER_FEATURES, value);
    } else {
        mmio_write32(blk->common_cfg + COMMON_GFSELECT, word);
        mmio_write32(blk->common_cfg + COMMON_GF, value);
    }
}

static u8 config_generation(struct virtio_blk *blk) {
    if (blk->mmio_base) return (u8)mmio_read32(blk->mmio_base + MMIO_CONFIG_GENERATION);
    return mmio_read8(blk->common_cfg + COMMON_GENERATION);
}

static int fail_init(struct virtio_blk *blk, const char **why, const char *reason) {
    set_status(blk, vblk_device_status(blk) | STATUS_FAILED);
    *why = reason;
    return 0;
}

static u64 read_capacity(struct virtio_blk *blk) {
    u64 capacity = 0;
    /* A config change between the two halves would tear the value; the generation shows it. */
    for (int attempt = 0; attempt < 4; attempt++) {
        u8 before = config_generation(blk);
        u32 low = mmio_read32(blk->device_cfg);
        u32 high = mmio_read32(blk->device_cfg + 4);
        capacity = ((u64)high << 32) | low;
        if (config_generation(blk) == before) break;
    }
    return capacity;
}

static void write64(u64 address, u64 value) {
    mmio_write32(address, (u32)value);
    mmio_write32(address + 4, (u32)(value >> 32));
}

/* Clears the rings and the driver's indices; the device sees them once the queue is enabled. */
static void clear_rings(struct virtio_blk *blk) {
    memset((void *)VBLK_QUEUE_DESC, 0, 0x1000);
    memset((void *)VBLK_QUEUE_AVAIL, 0, 0x1000);
    memset((void *)VBLK_QUEUE_USED, 0, 0x1000);
    blk->next_avail_index = 0;
    blk->last_used_index = 0;
}

static u16 queue_size_for(u32 max_size) {
    u16 size = VBLK_MAX_QUEUE_SIZE;
    while (size > max_size) size >>= 1;
    return size;
}

/* Queue 0 through the common configuration structure; enables it. */
static int setup_queue_pci(struct virtio_blk *blk, const char **why) {
    u64 common = blk->common_cfg;
    mmio_write16(common + COMMON_Q_SELECT, 0);
    u16 max_size = mmio_read16(common + COMMON_Q_SIZE);
    if (max_size == 0) {
        *why = "queue 0 is not available";
        return 0;
    }
    blk->queue_size = queue_size_for(max_size);
    mmio_write16(common + COMMON_Q_SIZE, blk->queue_size);
    mmio_write16(common + COMMON_Q_MSIX, NO_VECTOR);
    clear_rings(blk);
    write64(common + COMMON_Q_DESC, VBLK_QUEUE_DESC);
    write64(common + COMMON_Q_AVAIL, VBLK_QUEUE_AVAIL);
    write64(common + COMMON_Q_USED, VBLK_QUEUE_USED);

    u16 notify_offset = mmio_read16(common + COMMON_Q_NOTIFY_OFF);
    u64 notify_displacement = (u64)notify_offset * blk->notify_multiplier;
    if (notify_displacement + 2 > blk->notify_length) {
        *why = "queue notify address outside the notify capability";
        return 0;
    }
    blk->notify_address = blk->notify_base + notify_displacement;
    mmio_write16(common + COMMON_Q_ENABLE, 1);
    return 1;
}

/* Queue 0 through the virtio-mmio registers (as Linux's vm_setup_vq); marks it ready. */
static int setup_queue_mmio(struct virtio_blk *blk, const char **why) {
    u64 base = blk->mmio_base;
    mmio_write32(base + MMIO_QUEUE_SEL, 0);
    if (mmio_read32(base + MMIO_QUEUE_READY)) {
        *why = "queue 0 is ready before setup";
        return 0;
    }
    u32 max_size = mmio_read32(base + MMIO_QUEUE_NUM_MAX);
    if (max_size == 0) {
        *why = "queue 0 is not available";
        return 0;
    }
    blk->queue_size = queue_size_for(max_size);
    mmio_write32(base + MMIO_QUEUE_NUM, blk->queue_size);
    clear_rings(blk);
    write64(base + MMIO_QUEUE_DESC, VBLK_QUEUE_DESC);
    write64(base + MMIO_QUEUE_AVAIL, VBLK_QUEUE_AVAIL);
    write64(base + MMIO_QUEUE_USED, VBLK_QUEUE_USED);
    mmio_write32(base + MMIO_QUEUE_READY, 1);
    return 1;
}

int vblk_init(struct virtio_blk *blk, const char **why) {
    set_status(blk, 0);
    struct timeout reset_wait;
    timeout_start(&reset_wait, RESET_TIMEOUT_MS);
    while (vblk_device_status(blk) != 0) {
        if (timeout_expired(&reset_wait)) {
            *why = "device status did not read 0 after reset";
            return 0;
        }
    }
    set_status(blk, STATUS_ACKNOWLEDGE);
    set_status(blk, STATUS_ACKNOWLEDGE | STATUS_DRIVER);

    u32 features_low = device_features(blk, 0);
    u32 features_high = device_features(blk, 1);
    if (!(features_high & FEATURE_VERSION_1)) return fail_init(blk, why, "device does not offer VERSION_1");

    u32 accept_low = features_low & FEATURE_FLUSH;
    blk->has_flush = accept_low != 0;
    driver_features(blk, 0, accept_low);
    driver_features(blk, 1, FEATURE_VERSION_1);
    set_status(blk, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    if (!(vblk_device_status(blk) & STATUS_FEATURES_OK)) return fail_init(blk, why, "device refused FEATURES_OK");

    if (!(blk->mmio_base ? setup_queue_mmio(blk, why) : setup_queue_pci(blk, why))) return fail_init(blk, why, *why);
    set_status(blk, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
    if (vblk_device_status(blk) & VIRTIO_STATUS_NEEDS_RESET) {
        *why = "device needs reset right after DRIVER_OK";
        return 0;
    }
    blk->capacity_sectors = read_capacity(blk);
    return 1;
}

void vblk_publish(struct virtio_blk *blk, u16 head) {
    avail->ring[blk->next_avail_index & (blk->queue_size - 1)] = head;
    barrier();
    blk->next_avail_index++;
    avail->idx = blk->next_avail_index;
    barrier();
    /* Both transports take the queue index: a u16 at the queue's own notify address on
       virtio-pci, a u32 at QueueNotify on virtio-mmio. */
    if (blk->mmio_base) {
        mmio_write32(blk->notify_address, 0);
    } else {
        mmio_write16(blk->notify_address, 0);
    }
}

enum vblk_outcome vblk_wait(struct virtio_blk *blk, u32 milliseconds, u32 *used_length) {
    struct timeout timeout;
    timeout_start(&timeout, milliseconds);
    for (u32 polls = 0;; polls++) {
        if (used->idx != blk->last_used_index) {
            barrier();
            *used_length = used->ring[blk->last_used_index & (blk->queue_size - 1)].len;
            blk->last_used_index++;
            return VBLK_USED;
        }
        /* Status reads exit to the VMM, so check it less often than the ring. */
        if ((polls & 31) == 0 && (vblk_device_status(blk) & VIRTIO_STATUS_NEEDS_RESET)) return VBLK_NEEDS_RESET;
        if (timeout_expired(&timeout)) return VBLK_TIMEOUT;
    }
}

enum vblk_outcome vblk_request(struct virtio_blk *blk, u32 type, u64 sector, u64 data, u32 length,
                               u32 milliseconds, u8 *status) {
    volatile struct virtio_blk_request_header *header = (volatile struct virtio_blk_request_header *)VBLK_REQUEST_HEADER;
    volatile u8 *status_byte = (volatile u8 *)VBLK_REQUEST_STATUS;
    volatile struct virtq_desc *desc = vblk_descriptors();

    header->type = type;
    header->reserved = 0;
    header->sector = sector;
    *status_byte = 0xFF;

    desc[0].addr = VBLK_REQUEST_HEADER;
    desc[0].len = sizeof(struct virtio_blk_request_header);
    desc[0].flags = VIRTQ_DESC_F_NEXT;
    desc[0].next = 1;
    u16 status_index = 1;
    if (length) {
        desc[1].addr = data;
        desc[1].len = length;
        desc[1].flags = VIRTQ_DESC_F_NEXT | (type == VIRTIO_BLK_T_OUT ? 0 : VIRTQ_DESC_F_WRITE);
        desc[1].next = 2;
        status_index = 2;
    }
    desc[status_index].addr = VBLK_REQUEST_STATUS;
    desc[status_index].len = 1;
    desc[status_index].flags = VIRTQ_DESC_F_WRITE;
    desc[status_index].next = 0;

    vblk_publish(blk, 0);
    u32 used_length = 0;
    enum vblk_outcome outcome = vblk_wait(blk, milliseconds, &used_length);
    barrier();
    *status = *status_byte;
    return outcome;
}
