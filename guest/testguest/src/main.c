/* C entry: pick the scenario named by test=NAME on the kernel command line. */
#include "lib.h"
#include "scenarios.h"
#include "timer.h"

enum { BOOT_PARAMS_CMD_LINE_PTR = 0x228, TEST_NAME_MAX = 32 };

/* Copies the value of the first test=VALUE word into name; empty if there is none. */
static void find_test_name(const char *cmdline, char *name) {
    name[0] = 0;
    if (!cmdline) return;
    const char *p = cmdline;
    while (*p) {
        while (*p == ' ' || *p == '\t') p++;
        const char *word = p;
        while (*p && *p != ' ' && *p != '\t') p++;
        if (p - word >= 5 && word[0] == 't' && word[1] == 'e' && word[2] == 's' && word[3] == 't' && word[4] == '=') {
            usize length = 0;
            for (const char *v = word + 5; v < p && length < TEST_NAME_MAX; v++) name[length++] = *v;
            /* an over-long value must not match a real name by truncation */
            if (p - (word + 5) > TEST_NAME_MAX) length = 0;
            name[length] = 0;
            return;
        }
    }
}

__attribute__((noreturn)) void testguest_main(const u8 *boot_params) {
    serial_init();
    if (!timer_init()) print("swiftlet-testguest: warning: no i8254 PIT answers, delays are approximate\n");

    u32 cmdline_address = *(const volatile u32 *)(boot_params + BOOT_PARAMS_CMD_LINE_PTR);
    char name[TEST_NAME_MAX + 1];
    find_test_name(cmdline_address ? (const char *)(u64)cmdline_address : NULL, name);

    if (str_equal(name, "hello")) scenario_hello();
    if (str_equal(name, "echo")) scenario_echo();
    if (str_equal(name, "count")) scenario_count();
    if (str_equal(name, "idle")) scenario_idle();
    if (str_equal(name, "blk")) scenario_blk();
    if (str_equal(name, "blk-evil")) scenario_blk_evil();
    print("swiftlet-testguest: unknown test\n");
    reboot();
}
