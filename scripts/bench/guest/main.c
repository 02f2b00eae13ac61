/* The QEMU counterpart of Swiftlet's test guest scenarios `hello`, `count`, `echo` and `exits`,
   built from the same library (guest/lib: 16550 at 0x3F8 polled through LSR, PIT channel 2
   polled for delays, the echo and exits loops), so the two VMMs run comparable guests. The mode
   is mode=count, mode=echo or mode=exits (with exits=N) on the multiboot command line; anything
   else means hello. */
#include "cmdline.h"
#include "mem.h"
#include "portio.h"
#include "reset.h"
#include "timer.h"
#include "uart.h"
#include "workloads.h"

enum {
    MULTIBOOT_MAGIC = 0x2BADB002,
    MULTIBOOT_INFO_CMDLINE = 1u << 2,
    MODE_MAX = 16,
    DEBUG_EXIT_PORT = 0xF4,
};

/* i8042 reset: QEMU -no-reboot exits (machine pc); then isa-debug-exit, if configured: QEMU
   exits with status 1 (machine microvm has no i8042). */
__attribute__((noreturn)) static void finish(void) {
    i8042_reset();
    outb(DEBUG_EXIT_PORT, 0);
    halt_forever();
}

__attribute__((noreturn)) void benchguest_main(u32 magic, const u32 *info) {
    const char *cmdline = "";
    if (magic == MULTIBOOT_MAGIC && info && (info[0] & MULTIBOOT_INFO_CMDLINE) && info[4])
        cmdline = (const char *)info[4];
    char mode[MODE_MAX + 1];
    cmdline_value(cmdline, "mode", mode, MODE_MAX);
    serial_init();
    if (str_equal(mode, "echo")) echo_lines("bench-guest: echo ready\n", NULL);
    if (str_equal(mode, "count")) {
        timer_init();
        count_lines();
    }
    if (str_equal(mode, "exits")) {
        exits_run(cmdline);
        finish();
    }
    print("bench-guest: hello\n");
    finish();
}
