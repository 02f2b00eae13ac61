#ifndef CEVENTS_H
#define CEVENTS_H

// A device worker waits on its descriptors with epoll. `struct epoll_event` is packed on
// x86_64, which Swift imports awkwardly, and the EPOLL* flags come in as an enum: these
// wrappers take and give plain integers instead.

#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

static const uint32_t CEVENTS_IN = EPOLLIN;
static const uint32_t CEVENTS_OUT = EPOLLOUT;
static const uint32_t CEVENTS_ERR = EPOLLERR;
static const uint32_t CEVENTS_HUP = EPOLLHUP;

static const int CEVENTS_ADD = EPOLL_CTL_ADD;
static const int CEVENTS_MOD = EPOLL_CTL_MOD;
static const int CEVENTS_DEL = EPOLL_CTL_DEL;

static inline int cevents_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

/// A non-blocking, close-on-exec eventfd that wakes the worker.
static inline int cevents_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

/// EPOLL_CTL_ADD, _MOD or _DEL of `fd` with `events`; the event carries `fd` back.
static inline int cevents_control(int epoll, int operation, int fd, uint32_t events) {
    struct epoll_event event = {.events = events, .data = {.fd = fd}};
    return epoll_ctl(epoll, operation, fd, &event);
}

/// Waits for up to `capacity` events and unpacks each into `fds` and `events`; returns the
/// count, or -1 with errno.
static inline int cevents_wait(int epoll, int *fds, uint32_t *events, int capacity, int timeout) {
    struct epoll_event ready[64];
    if (capacity > 64) capacity = 64;
    int count = epoll_wait(epoll, ready, capacity, timeout);
    for (int i = 0; i < count; i++) {
        fds[i] = ready[i].data.fd;
        events[i] = ready[i].events;
    }
    return count;
}

#endif
