/* The workloads both guests run (the test guest for Swiftlet, the bench guest for QEMU), so the
   two VMMs see the same port I/O. Each leaves ending the guest to its caller. */
#ifndef GUESTLIB_WORKLOADS_H
#define GUESTLIB_WORKLOADS_H

enum {
    ECHO_LINE_MAX = 128,
    EXITS_PORT = 0x80, /* the POST-code port: no device behind it in Swiftlet or QEMU microvm */
    EXITS_DEFAULT_COUNT = 100000,
};

/* Prints ready_line, then "echo: LINE\n" for every input line (ended by CR or LF; an LF right
   after a CR is ignored; at most ECHO_LINE_MAX characters kept). Returns, without echoing it,
   when a line equals quit_line; never returns if quit_line is NULL. */
void echo_lines(const char *ready_line, const char *quit_line);

/* "count 1", "count 2", ... every 100 ms (PIT-timed, see timer.h), forever. All state is in
   registers and guest RAM, so a snapshot/restore mid-run just continues. */
__attribute__((noreturn)) void count_lines(void);

/* Writes one byte to EXITS_PORT N times, N from exits=N on cmdline (EXITS_DEFAULT_COUNT if it
   is missing or not a 32-bit decimal number), then prints "exits done N". Each write is one
   exit to the VMM. */
void exits_run(const char *cmdline);

#endif
