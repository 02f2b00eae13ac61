/*
 * Wall-clock delays and timeouts from the i8254 PIT, channel 2.
 *
 * Guest CPL0 code may run emulated (1-10 us per instruction) or natively, so no delay may be
 * derived from instruction counts. The PIT is KVM's in-kernel one (KVM_CREATE_PIT2): it counts
 * in host time, and its state lives in KVM's PIT state, which a snapshot saves and restores.
 * Time is measured in 10 ms one-shot chunks, each polled with a status read-back (two port
 * accesses per poll, no dependence on port 0x61, which KVM serves only with SPEAKER_DUMMY).
 */
#ifndef GUESTLIB_TIMER_H
#define GUESTLIB_TIMER_H

#include "types.h"

struct timeout {
    u32 chunks_left;
    u32 fallback_polls; /* only used when no PIT answers */
};

/* Checks that a PIT answers; returns 0 (and delays fall back to poll counts) if not. */
int timer_init(void);

void timeout_start(struct timeout *timeout, u32 milliseconds);
/* Polls once; returns nonzero once the whole interval has passed. */
int timeout_expired(struct timeout *timeout);

void delay_ms(u32 milliseconds);

#endif
