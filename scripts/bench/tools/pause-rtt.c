// pause-rtt: times pause + resume round trips over one open control connection, with 4 busy
// vCPUs in the nested testbed (scripts/bench.sh --linux, scenario bench-smp-pause). L1 has no
// Python or curl with Unix sockets to spare, and timing a client process per request would
// measure process start-up rather than the VMM, so this one static program speaks both
// protocols the same way: Firecracker's HTTP API (PATCH /vm) to Swiftlet, QMP (stop / cont) to
// QEMU.
//   pause-rtt http|qmp SOCKET ROUNDS
// Prints one line per round trip in milliseconds, then `median M ms`. Exits non-zero with a
// message if the VMM refuses a request or the connection fails.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int fd;
static char buffer[65536];
static size_t buffered;

static void die(const char *what) {
    fprintf(stderr, "pause-rtt: %s\n", what);
    exit(1);
}

static void send_all(const char *text) {
    size_t length = strlen(text);
    while (length > 0) {
        ssize_t written = write(fd, text, length);
        if (written <= 0) die("write to the control socket failed");
        text += written;
        length -= (size_t)written;
    }
}

// Reads until `buffer` holds `needle`; returns the offset just past it.
static size_t read_until(const char *needle) {
    for (;;) {
        buffer[buffered] = 0;
        char *found = strstr(buffer, needle);
        if (found) return (size_t)(found - buffer) + strlen(needle);
        if (buffered + 1 >= sizeof buffer) die("reply too long");
        ssize_t got = read(fd, buffer + buffered, sizeof buffer - 1 - buffered);
        if (got <= 0) die("the VMM closed the control socket");
        buffered += (size_t)got;
    }
}

static void consume(size_t count) {
    memmove(buffer, buffer + count, buffered - count);
    buffered -= count;
}

// One HTTP/1.1 request with a JSON body; Firecracker's API answers a state change with 204.
static void http_patch_vm(const char *state) {
    char request[256];
    char body[64];
    snprintf(body, sizeof body, "{\"state\": \"%s\"}", state);
    snprintf(request, sizeof request,
             "PATCH /vm HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    send_all(request);
    size_t end = read_until("\r\n\r\n");
    if (strncmp(buffer, "HTTP/1.1 204", 12) != 0) {
        buffer[end] = 0;
        fprintf(stderr, "pause-rtt: PATCH /vm %s answered: %s\n", state, buffer);
        exit(1);
    }
    consume(end);
}

// One QMP command; skips the asynchronous event lines (STOP, RESUME) around its reply.
static void qmp_execute(const char *command) {
    char request[128];
    snprintf(request, sizeof request, "{\"execute\": \"%s\"}\n", command);
    send_all(request);
    for (;;) {
        size_t end = read_until("\n");
        int is_reply = strstr(buffer, "\"return\"") != NULL && strstr(buffer, "\"return\"") < buffer + end;
        int is_error = strstr(buffer, "\"error\"") != NULL && strstr(buffer, "\"error\"") < buffer + end;
        if (is_error) {
            buffer[end] = 0;
            fprintf(stderr, "pause-rtt: QMP %s failed: %s", command, buffer);
            exit(1);
        }
        consume(end);
        if (is_reply) return;
    }
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 4) die("usage: pause-rtt http|qmp SOCKET ROUNDS");
    int qmp = strcmp(argv[1], "qmp") == 0;
    if (!qmp && strcmp(argv[1], "http") != 0) die("the protocol is http or qmp");
    int rounds = atoi(argv[3]);
    if (rounds < 1 || rounds > 10000) die("ROUNDS is 1 to 10000");

    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (strlen(argv[2]) >= sizeof address.sun_path) die("socket path too long");
    strcpy(address.sun_path, argv[2]);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) != 0) die("cannot connect to the control socket");
    if (qmp) {
        consume(read_until("\n"));  // the greeting
        qmp_execute("qmp_capabilities");
    }

    double *samples = calloc((size_t)rounds, sizeof *samples);
    if (!samples) die("out of memory");
    for (int i = 0; i < rounds; i++) {
        usleep(20000);  // as the host rows do: the guest runs between round trips
        double start = now_ms();
        if (qmp) {
            qmp_execute("stop");
            qmp_execute("cont");
        } else {
            http_patch_vm("Paused");
            http_patch_vm("Resumed");
        }
        samples[i] = now_ms() - start;
        printf("%.3f\n", samples[i]);
    }
    qsort(samples, (size_t)rounds, sizeof *samples, compare);
    double median = rounds % 2 ? samples[rounds / 2] : (samples[rounds / 2 - 1] + samples[rounds / 2]) / 2;
    printf("median %.3f ms\n", median);
    return 0;
}
