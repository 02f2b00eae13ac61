/* C entry: pick the scenario named by test=NAME on the kernel command line. */
#include "cmdline.h"
#include "mem.h"
#include "reset.h"
#include "scenarios.h"
#include "timer.h"
#include "uart.h"

enum { BOOT_PARAMS_CMD_LINE_PTR = 0x228, TEST_NAME_MAX = 32 };

__attribute__((noreturn)) void testguest_main(const u8 *boot_params) {
    serial_init();
    if (!timer_init()) print("swiftlet-testguest: warning: no i8254 PIT answers, delays are approximate\n");

    u32 cmdline_address = *(const volatile u32 *)(boot_params + BOOT_PARAMS_CMD_LINE_PTR);
    const char *cmdline = cmdline_address ? (const char *)(u64)cmdline_address : NULL;
    char name[TEST_NAME_MAX + 1];
    cmdline_value(cmdline, "test", name, TEST_NAME_MAX);

    if (str_equal(name, "hello")) scenario_hello();
    if (str_equal(name, "echo")) scenario_echo();
    if (str_equal(name, "count")) scenario_count();
    if (str_equal(name, "idle")) scenario_idle();
    if (str_equal(name, "iostorm")) scenario_iostorm();
    if (str_equal(name, "blk")) scenario_blk(cmdline);
    if (str_equal(name, "blk-evil")) scenario_blk_evil(cmdline);
    if (str_equal(name, "exits")) scenario_exits(cmdline);
    if (str_equal(name, "triple-fault")) scenario_triple_fault();
    if (str_equal(name, "boot-timer")) scenario_boot_timer();
    if (str_equal(name, "chaos")) scenario_chaos(cmdline);
    if (str_equal(name, "rtc")) scenario_rtc();
    print("swiftlet-testguest: unknown test\n");
    reboot();
}
