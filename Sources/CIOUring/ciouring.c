#include "ciouring.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>

struct ciouring {
    struct io_uring ring;
};

ciouring *ciouring_create(unsigned entries, int *error) {
    ciouring *wrapper = calloc(1, sizeof *wrapper);
    if (!wrapper) {
        *error = -ENOMEM;
        return NULL;
    }
    // Created disabled, so the restrictions are in place before any request can be queued.
    int result = io_uring_queue_init(entries, &wrapper->ring, IORING_SETUP_R_DISABLED);
    if (result < 0) {
        free(wrapper);
        *error = result;
        return NULL;
    }
    struct io_uring_restriction allowed[4];
    memset(allowed, 0, sizeof allowed);
    const uint8_t operations[4] = {IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC, IORING_OP_NOP};
    for (int index = 0; index < 4; index++) {
        allowed[index].opcode = IORING_RESTRICTION_SQE_OP;
        allowed[index].sqe_op = operations[index];
    }
    result = io_uring_register_restrictions(&wrapper->ring, allowed, 4);
    if (result == 0) result = io_uring_enable_rings(&wrapper->ring);
    if (result < 0) {
        io_uring_queue_exit(&wrapper->ring);
        free(wrapper);
        *error = result;
        return NULL;
    }
    *error = 0;
    return wrapper;
}

void ciouring_destroy(ciouring *ring) {
    if (!ring) return;
    io_uring_queue_exit(&ring->ring);
    free(ring);
}

// The token is set after the prep call, which fills the whole entry.
static struct io_uring_sqe *next_entry(ciouring *ring) { return io_uring_get_sqe(&ring->ring); }

static int queue_vectors(ciouring *ring, int write, int fd, const struct iovec *vectors, unsigned count, uint64_t offset, uint64_t token) {
    struct io_uring_sqe *entry = next_entry(ring);
    if (!entry) return -EBUSY;
    if (write) {
        io_uring_prep_writev(entry, fd, vectors, count, offset);
    } else {
        io_uring_prep_readv(entry, fd, vectors, count, offset);
    }
    entry->user_data = token;
    return 0;
}

int ciouring_queue_readv(ciouring *ring, int fd, const struct iovec *vectors, unsigned count, uint64_t offset, uint64_t token) {
    return queue_vectors(ring, 0, fd, vectors, count, offset, token);
}

int ciouring_queue_writev(ciouring *ring, int fd, const struct iovec *vectors, unsigned count, uint64_t offset, uint64_t token) {
    return queue_vectors(ring, 1, fd, vectors, count, offset, token);
}

int ciouring_queue_fdatasync(ciouring *ring, int fd, uint64_t token) {
    struct io_uring_sqe *entry = next_entry(ring);
    if (!entry) return -EBUSY;
    io_uring_prep_fsync(entry, fd, IORING_FSYNC_DATASYNC);
    entry->user_data = token;
    return 0;
}

int ciouring_queue_nop(ciouring *ring, uint64_t token) {
    struct io_uring_sqe *entry = next_entry(ring);
    if (!entry) return -EBUSY;
    io_uring_prep_nop(entry);
    entry->user_data = token;
    return 0;
}

int ciouring_submit(ciouring *ring) {
    int result;
    do {
        result = io_uring_submit(&ring->ring);
    } while (result == -EINTR);
    return result;
}

int ciouring_reap(ciouring *ring, uint64_t *tokens, int32_t *results, unsigned capacity) {
    struct io_uring_cqe *first;
    int result;
    do {
        result = io_uring_wait_cqe(&ring->ring, &first);
    } while (result == -EINTR);
    if (result < 0) return result;
    unsigned taken = 0;
    struct io_uring_cqe *entry;
    while (taken < capacity && io_uring_peek_cqe(&ring->ring, &entry) == 0 && entry) {
        tokens[taken] = entry->user_data;
        results[taken] = entry->res;
        io_uring_cqe_seen(&ring->ring, entry);
        taken++;
    }
    return (int)taken;
}
