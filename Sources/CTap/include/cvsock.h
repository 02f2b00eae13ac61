#ifndef CVSOCK_H
#define CVSOCK_H

// accept4 is a GNU extension that the Swift Glibc module does not declare; the vsock device
// needs it so accepted host sockets are non-blocking and close-on-exec from the start (and
// seccomp allows accept4, not accept).

/// accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC).
int cvsock_accept_nonblocking(int listener);

#endif
