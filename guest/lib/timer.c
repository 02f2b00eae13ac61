#include "timer.h"
#include "portio.h"

enum {
    PIT_CHANNEL2 = 0x42,
    PIT_COMMAND = 0x43,
    PIT_GATE_PORT = 0x61,
    /* channel 2, lobyte/hibyte access, mode 0 (interrupt on terminal count), binary */
    PIT_CH2_MODE0 = 0xB0,
    /* read-back: latch status only (COUNT bit 5 set = don't latch count), channel 2 */
    PIT_READBACK_CH2_STATUS = 0xE8,
    PIT_STATUS_OUT = 0x80,
    /* status bits 0-5 of channel 2 right after arming: lobyte/hibyte, mode 0, binary */
    PIT_STATUS_ARMED = 0x30,
    PIT_HZ = 1193182,
    CHUNK_MS = 10,
    CHUNK_TICKS = PIT_HZ * CHUNK_MS / 1000,
    /* Without a PIT, a poll costs at least a few microseconds (two port exits); this is a
       rough stand-in so delays still end. */
    FALLBACK_POLLS_PER_CHUNK = 8000,
};

static int pit_present;

static void pit_arm_chunk(void) {
    /* Gate 2 high (needed by a real 8254 to count), speaker off. */
    outb(PIT_GATE_PORT, 0x01);
    outb(PIT_COMMAND, PIT_CH2_MODE0);
    outb(PIT_CHANNEL2, CHUNK_TICKS & 0xFF);
    outb(PIT_CHANNEL2, CHUNK_TICKS >> 8);
}

static u8 pit_status(void) {
    outb(PIT_COMMAND, PIT_READBACK_CH2_STATUS);
    return inb(PIT_CHANNEL2);
}

int timer_init(void) {
    pit_arm_chunk();
    /* An absent PIT reads all ones; a present one shows OUT low and mode 0 right after arming. */
    u8 status = pit_status();
    pit_present = (status & (PIT_STATUS_OUT | 0x3F)) == PIT_STATUS_ARMED;
    return pit_present;
}

void timeout_start(struct timeout *timeout, u32 milliseconds) {
    timeout->chunks_left = (milliseconds + CHUNK_MS - 1) / CHUNK_MS;
    if (timeout->chunks_left == 0) timeout->chunks_left = 1;
    timeout->fallback_polls = FALLBACK_POLLS_PER_CHUNK;
    pit_arm_chunk();
}

int timeout_expired(struct timeout *timeout) {
    if (timeout->chunks_left == 0) return 1;
    if (pit_present) {
        if (!(pit_status() & PIT_STATUS_OUT)) return 0;
    } else if (--timeout->fallback_polls) {
        return 0;
    }
    if (--timeout->chunks_left == 0) return 1;
    timeout->fallback_polls = FALLBACK_POLLS_PER_CHUNK;
    pit_arm_chunk();
    return 0;
}

void delay_ms(u32 milliseconds) {
    struct timeout timeout;
    timeout_start(&timeout, milliseconds);
    while (!timeout_expired(&timeout)) {
    }
}
