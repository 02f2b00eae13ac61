/*
 * vsock-echo: the testbed's vsock endpoints, one small static program for both sides.
 *
 * In the guest (AF_VSOCK):
 *   vsock-echo listen PORT         accept connections on PORT, echo each until it ends
 *   vsock-echo connect CID PORT    connect to CID:PORT, send stdin, write what comes back to stdout
 * On the host, through Swiftlet's Unix sockets (Firecracker's protocol):
 *   vsock-echo uds-connect PATH PORT   connect to PATH, "CONNECT PORT", expect "OK ...", then as connect
 *   vsock-echo uds-echo PATH           listen on PATH (the device's PATH_PORT), echo each connection
 * For throughput (bench-vsock), one-way receivers: each connection is read to its end and thrown
 * away, its byte count printed as a line on stdout, then closed:
 *   vsock-echo sink PORT               on AF_VSOCK PORT
 *   vsock-echo uds-sink PATH           on the Unix socket PATH
 *
 * "connect" half-closes the stream when stdin ends and exits when the peer closes, so
 * `vsock-echo connect 2 1234 <data >echoed` round-trips a file.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static void die(const char *what) {
    fprintf(stderr, "vsock-echo: %s: %s\n", what, strerror(errno));
    exit(1);
}

static unsigned parse_number(const char *text, const char *what) {
    char *end;
    errno = 0;
    unsigned long value = strtoul(text, &end, 10);
    if (*text == '\0' || *end != '\0' || errno != 0 || value > 0xFFFFFFFFul) {
        fprintf(stderr, "vsock-echo: bad %s '%s'\n", what, text);
        exit(2);
    }
    return (unsigned)value;
}

/* Writes all of buffer; 0 on success. */
static int write_all(int fd, const char *buffer, size_t count) {
    while (count > 0) {
        ssize_t written = write(fd, buffer, count);
        if (written < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        buffer += written;
        count -= (size_t)written;
    }
    return 0;
}

/* Echoes one connection until the peer closes its side. */
static void echo(int fd) {
    static char buffer[65536];
    for (;;) {
        ssize_t count = read(fd, buffer, sizeof buffer);
        if (count < 0 && errno == EINTR) continue;
        if (count <= 0) break;
        if (write_all(fd, buffer, (size_t)count) != 0) break;
    }
    shutdown(fd, SHUT_WR);
    close(fd);
}

/* Reads one connection to its end, prints how many bytes came, then closes it: the sender ("connect"
 * waits for the close) knows everything arrived, and the count is out by then. */
static void sink(int fd) {
    static char buffer[65536];
    unsigned long long total = 0;
    for (;;) {
        ssize_t count = read(fd, buffer, sizeof buffer);
        if (count < 0 && errno == EINTR) continue;
        if (count <= 0) break;
        total += (unsigned long long)count;
    }
    printf("%llu\n", total);
    fflush(stdout);
    close(fd);
}

static void serve(int listener, void (*handle)(int)) {
    if (listen(listener, 8) != 0) die("listen");
    for (;;) {
        int connection = accept(listener, NULL, NULL);
        if (connection < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            die("accept");
        }
        handle(connection);
    }
}

/* stdin to the socket (then a half-close), the socket to stdout, until the peer closes.
 * Sends never block: an echo peer stops reading while we do not read its answers, so a
 * blocking send of a large input would deadlock both sides. */
static void relay(int fd) {
    static char outgoing[65536], incoming[65536];
    size_t pending = 0, sent = 0;
    int input_open = 1, half_closed = 0;
    for (;;) {
        struct pollfd fds[2] = {
            {.fd = (input_open && pending == 0) ? STDIN_FILENO : -1, .events = POLLIN},
            {.fd = fd, .events = POLLIN | (pending > sent ? POLLOUT : 0)},
        };
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            die("poll");
        }
        if (fds[0].revents & (POLLIN | POLLHUP)) {
            ssize_t count = read(STDIN_FILENO, outgoing, sizeof outgoing);
            if (count > 0) {
                pending = (size_t)count;
                sent = 0;
            } else if (count == 0 || errno != EINTR) {
                input_open = 0;
            }
        }
        if (fds[1].revents & POLLOUT) {
            ssize_t count = send(fd, outgoing + sent, pending - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (count > 0) sent += (size_t)count;
            else if (count < 0 && errno != EAGAIN && errno != EINTR) die("send");
            if (sent == pending) pending = sent = 0;
        }
        if (!input_open && pending == 0 && !half_closed) {
            shutdown(fd, SHUT_WR);
            half_closed = 1;
        }
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t count = read(fd, incoming, sizeof incoming);
            if (count < 0 && errno == EINTR) continue;
            if (count < 0) die("receive");
            if (count == 0) break;
            if (write_all(STDOUT_FILENO, incoming, (size_t)count) != 0) die("write stdout");
        }
    }
    close(fd);
}

static int vsock_socket(void) {
    int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (fd < 0) die("socket(AF_VSOCK)");
    return fd;
}

static struct sockaddr_vm vsock_address(unsigned cid, unsigned port) {
    struct sockaddr_vm address;
    memset(&address, 0, sizeof address);
    address.svm_family = AF_VSOCK;
    address.svm_cid = cid;
    address.svm_port = port;
    return address;
}

static struct sockaddr_un unix_address(const char *path) {
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof address.sun_path) {
        fprintf(stderr, "vsock-echo: path too long: %s\n", path);
        exit(2);
    }
    strcpy(address.sun_path, path);
    return address;
}

/* Reads the device's "OK <port>\n" a byte at a time, so no echoed byte is consumed. */
static void expect_ok_line(int fd) {
    char line[64];
    size_t length = 0;
    while (length < sizeof line - 1) {
        ssize_t count = read(fd, &line[length], 1);
        if (count < 0 && errno == EINTR) continue;
        if (count <= 0) break;
        if (line[length] == '\n') {
            line[length] = '\0';
            if (strncmp(line, "OK ", 3) == 0) return;
            break;
        }
        length++;
    }
    line[length] = '\0';
    fprintf(stderr, "vsock-echo: expected 'OK <port>', got '%s'\n", line);
    exit(1);
}

int main(int argc, char **argv) {
    int listening = argc == 3 && (strcmp(argv[1], "listen") == 0 || strcmp(argv[1], "sink") == 0);
    int uds_listening = argc == 3 && (strcmp(argv[1], "uds-echo") == 0 || strcmp(argv[1], "uds-sink") == 0);
    void (*handle)(int) = argc == 3 && strstr(argv[1], "sink") ? sink : echo;
    if (listening) {
        int fd = vsock_socket();
        struct sockaddr_vm address = vsock_address(VMADDR_CID_ANY, parse_number(argv[2], "port"));
        if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0) die("bind");
        serve(fd, handle);
    } else if (argc == 4 && strcmp(argv[1], "connect") == 0) {
        int fd = vsock_socket();
        struct sockaddr_vm address = vsock_address(parse_number(argv[2], "CID"), parse_number(argv[3], "port"));
        if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) die("connect");
        relay(fd);
    } else if (argc == 4 && strcmp(argv[1], "uds-connect") == 0) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0) die("socket(AF_UNIX)");
        struct sockaddr_un address = unix_address(argv[2]);
        if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) die("connect");
        char request[32];
        int length = snprintf(request, sizeof request, "CONNECT %u\n", parse_number(argv[3], "port"));
        if (write_all(fd, request, (size_t)length) != 0) die("send CONNECT");
        expect_ok_line(fd);
        relay(fd);
    } else if (uds_listening) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0) die("socket(AF_UNIX)");
        struct sockaddr_un address = unix_address(argv[2]);
        if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0) die("bind");
        serve(fd, handle);
    } else {
        fprintf(stderr, "usage: vsock-echo listen PORT | connect CID PORT | uds-connect PATH PORT | uds-echo PATH"
                        " | sink PORT | uds-sink PATH\n");
        return 2;
    }
    return 0;
}
