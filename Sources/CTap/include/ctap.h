#ifndef CTAP_H
#define CTAP_H

// Swift cannot import the _IOW/_IOR request macros of <linux/if_tun.h>, call the variadic
// ioctl, nor fill the union inside `struct ifreq` readably, so this shim gives the tap ioctls
// as `static const`s and wraps each call in a small function.

#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>


static const int CTAP_IFF_TAP = IFF_TAP;
static const int CTAP_IFF_NO_PI = IFF_NO_PI;
static const int CTAP_IFF_VNET_HDR = IFF_VNET_HDR;
static const int CTAP_IFNAMSIZ = IFNAMSIZ;

// The requests themselves, for the seccomp allowlists that must name them.
static const unsigned long CTAP_TUNSETIFF = TUNSETIFF;
static const unsigned long CTAP_TUNSETVNETHDRSZ = TUNSETVNETHDRSZ;
static const unsigned long CTAP_TUNSETOFFLOAD = TUNSETOFFLOAD;
// if_nametoindex asks a socket with SIOCGIFINDEX whether the tap exists.
static const unsigned long CTAP_SIOCGIFINDEX = SIOCGIFINDEX;

static const unsigned int CTAP_TUN_F_CSUM = TUN_F_CSUM;
static const unsigned int CTAP_TUN_F_TSO4 = TUN_F_TSO4;
static const unsigned int CTAP_TUN_F_TSO6 = TUN_F_TSO6;

/// Attaches the tun/tap file descriptor `fd` to the interface `name` with `flags`.
/// Returns ioctl's result (-1 with errno set on failure); the caller checked the name's length.
static inline int ctap_set_interface(int fd, const char *name, int flags) {
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    request.ifr_flags = (short)flags;
    return ioctl(fd, TUNSETIFF, &request);
}

/// TUNSETVNETHDRSZ: the size of the virtio-net header in front of every frame.
static inline int ctap_set_vnet_header_size(int fd, int size) {
    return ioctl(fd, TUNSETVNETHDRSZ, &size);
}

/// TUNSETOFFLOAD: which TUN_F_* offloads frames read from the tap may carry.
static inline int ctap_set_offload(int fd, unsigned int flags) {
    return ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags);
}

#endif
