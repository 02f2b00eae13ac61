/* Scenarios that drive the virtio-blk device: blk (a correct workload) and blk-evil. */
#include "mem.h"
#include "reset.h"
#include "scenarios.h"
#include "uart.h"
#include "virtio_blk.h"

enum {
    REQUEST_TIMEOUT_MS = 5000,
    EVIL_TIMEOUT_MS = 2000,
    PATTERN_SECTOR = 2048,
    PATTERN_LENGTH = 4096,
    ID_LENGTH = 20,
    VIRTIO_BLK_S_OK = 0,
};

static struct virtio_blk blk;

__attribute__((noreturn)) static void fail(const char *prefix, const char *why) {
    print(prefix);
    print(": FAIL ");
    print(why);
    serial_putc('\n');
    reboot();
}

/* Sends a request that must succeed; ends the scenario with FAIL otherwise. */
static void checked_request(const char *prefix, const char *what, u32 type, u64 sector, u64 data, u32 length) {
    u8 status = 0xFF;
    enum vblk_outcome outcome = vblk_request(&blk, type, sector, data, length, REQUEST_TIMEOUT_MS, &status);
    if (outcome == VBLK_USED && status == VIRTIO_BLK_S_OK) return;
    print(prefix);
    print(": FAIL ");
    print(what);
    if (outcome == VBLK_TIMEOUT) {
        print(" timed out\n");
    } else if (outcome == VBLK_NEEDS_RESET) {
        print(" made the device need a reset\n");
    } else {
        print(" returned status ");
        print_dec(status);
        serial_putc('\n');
    }
    reboot();
}

static void print_id(const volatile u8 *id) {
    print("blk: id ");
    for (int i = 0; i < ID_LENGTH && id[i]; i++) {
        u8 c = id[i];
        serial_putc(c >= 0x20 && c < 0x7F ? (char)c : '?');
    }
    serial_putc('\n');
}

static void setup(const char *prefix, const char *cmdline) {
    const char *why = "";
    if (!vblk_probe(&blk, cmdline, &why)) fail(prefix, why);
    if (!vblk_init(&blk, &why)) fail(prefix, why);
}

void scenario_blk(const char *cmdline) {
    setup("blk", cmdline);
    print("blk: capacity ");
    print_dec(blk.capacity_sectors);
    print(" sectors, flush ");
    print(blk.has_flush ? "yes\n" : "no\n");
    if (blk.capacity_sectors < PATTERN_SECTOR + PATTERN_LENGTH / 512) fail("blk", "disk too small for sector 2048 + 4096 bytes");

    u8 *out = (u8 *)VBLK_BUFFER_OUT;
    u8 *in = (u8 *)VBLK_BUFFER_IN;
    for (u32 i = 0; i < PATTERN_LENGTH; i++) out[i] = (u8)(i * 7 + 0x5A);
    memset(in, 0, PATTERN_LENGTH);

    checked_request("blk", "write", VIRTIO_BLK_T_OUT, PATTERN_SECTOR, VBLK_BUFFER_OUT, PATTERN_LENGTH);
    checked_request("blk", "read", VIRTIO_BLK_T_IN, PATTERN_SECTOR, VBLK_BUFFER_IN, PATTERN_LENGTH);
    if (memcmp(out, in, PATTERN_LENGTH) != 0) fail("blk", "read-back data differs from the written pattern");
    if (blk.has_flush) checked_request("blk", "flush", VIRTIO_BLK_T_FLUSH, 0, 0, 0);

    memset((void *)VBLK_BUFFER_ID, 0, 512);
    checked_request("blk", "get-id", VIRTIO_BLK_T_GET_ID, 0, VBLK_BUFFER_ID, ID_LENGTH);
    print_id((const volatile u8 *)VBLK_BUFFER_ID);
    print("blk: ok\n");
    reboot();
}

/* Prints how the device dealt with a malformed chain; returns 0 if it claimed success. */
static int report_evil(const char *name, enum vblk_outcome outcome) {
    u8 status = *(volatile u8 *)VBLK_REQUEST_STATUS;
    int rejected = !(outcome == VBLK_USED && status == VIRTIO_BLK_S_OK);
    print("blk-evil: ");
    print(name);
    print(rejected ? " rejected (" : " ACCEPTED (");
    if (outcome == VBLK_USED) {
        print("used status ");
        print_dec(status);
    } else if (outcome == VBLK_NEEDS_RESET) {
        print("needs reset");
    } else {
        print("timeout");
    }
    print(")\n");
    return rejected;
}

static void evil_header(u32 type) {
    volatile struct virtio_blk_request_header *header = (volatile struct virtio_blk_request_header *)VBLK_REQUEST_HEADER;
    header->type = type;
    header->reserved = 0;
    header->sector = 0;
    *(volatile u8 *)VBLK_REQUEST_STATUS = 0xFF;
}

static void set_desc(u16 index, u64 addr, u32 len, u16 flags, u16 next) {
    volatile struct virtq_desc *desc = vblk_descriptors();
    desc[index].addr = addr;
    desc[index].len = len;
    desc[index].flags = flags;
    desc[index].next = next;
}

/* header -> data(addr, len) -> status, a read request with a bad data buffer. */
static enum vblk_outcome submit_bad_data(u64 addr, u32 len) {
    u32 used_length;
    evil_header(VIRTIO_BLK_T_IN);
    set_desc(0, VBLK_REQUEST_HEADER, 16, VIRTQ_DESC_F_NEXT, 1);
    set_desc(1, addr, len, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    set_desc(2, VBLK_REQUEST_STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
    vblk_publish(&blk, 0);
    return vblk_wait(&blk, EVIL_TIMEOUT_MS, &used_length);
}

/*
 * header -> data -> header -> ... : a write whose two device-readable descriptors point at each
 * other. Every descriptor is well-formed and in the right order, so only a bound on the chain
 * length (or loop detection) stops a device from walking it forever.
 */
static enum vblk_outcome submit_loop(void) {
    u32 used_length;
    evil_header(VIRTIO_BLK_T_OUT);
    set_desc(0, VBLK_REQUEST_HEADER, 16, VIRTQ_DESC_F_NEXT, 1);
    set_desc(1, VBLK_BUFFER_OUT, 512, VIRTQ_DESC_F_NEXT, 0);
    vblk_publish(&blk, 0);
    return vblk_wait(&blk, EVIL_TIMEOUT_MS, &used_length);
}

void scenario_blk_evil(const char *cmdline) {
    const char *why = "";
    int all_rejected = 1;
    setup("blk-evil", cmdline);

    all_rejected &= report_evil("loop", submit_loop());
    if (!vblk_init(&blk, &why)) fail("blk-evil", why);

    all_rejected &= report_evil("outside-ram", submit_bad_data(0xFFFFFFFFF0000000ul, 512));
    if (!vblk_init(&blk, &why)) fail("blk-evil", why);

    all_rejected &= report_evil("wrapped-length", submit_bad_data(0xFFFFFFFFFFFFF000ul, 0x2000));
    if (!vblk_init(&blk, &why)) fail("blk-evil", why);

    all_rejected &= report_evil("huge-length", submit_bad_data(VBLK_BUFFER_IN, 0xFFFFFFFFu));
    if (!vblk_init(&blk, &why)) fail("blk-evil", why);

    checked_request("blk-evil", "read of sector 0 after the bad requests", VIRTIO_BLK_T_IN, 0, VBLK_BUFFER_IN, 512);
    if (!all_rejected) fail("blk-evil", "the device reported success for a malformed request");
    print("blk-evil: ok\n");
    reboot();
}
