#ifndef CIOURING_H
#define CIOURING_H

#include <stdint.h>
#include <sys/uio.h>

/// An io_uring for a block device's reads, writes and flushes, through liburing.
/// One thread queues and submits, another reaps: liburing's submission and completion sides
/// touch separate rings, so the two never need a lock between them.
typedef struct ciouring ciouring;

/// A ring with room for `entries` requests in flight, limited to READV, WRITEV, FSYNC and NOP:
/// io_uring runs its requests outside the calling thread's seccomp filter, so the ring itself
/// refuses anything else. NULL with `*error` set to a negative errno where io_uring is
/// unavailable (an old kernel, io_uring_disabled, a seccomp filter that refuses it).
ciouring *ciouring_create(unsigned entries, int *error);
void ciouring_destroy(ciouring *ring);

/// Queue one request tagged with `token`; -EBUSY when the submission ring is full.
int ciouring_queue_readv(ciouring *ring, int fd, const struct iovec *vectors, unsigned count, uint64_t offset, uint64_t token);
int ciouring_queue_writev(ciouring *ring, int fd, const struct iovec *vectors, unsigned count, uint64_t offset, uint64_t token);
int ciouring_queue_fdatasync(ciouring *ring, int fd, uint64_t token);
int ciouring_queue_nop(ciouring *ring, uint64_t token);

/// Hands queued requests to the kernel; the number submitted or a negative errno.
int ciouring_submit(ciouring *ring);

/// Waits for at least one completion and takes up to `capacity` of them: their tokens and
/// results (bytes transferred, or a negative errno). Returns the count or a negative errno.
int ciouring_reap(ciouring *ring, uint64_t *tokens, int32_t *results, unsigned capacity);

#endif
