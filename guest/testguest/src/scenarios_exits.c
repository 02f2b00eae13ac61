/* Scenarios about VM exits: exits (a burst of port writes to time) and triple-fault. */
#include "mmio.h"
#include "reset.h"
#include "scenarios.h"
#include "uart.h"
#include "workloads.h"

void scenario_exits(const char *cmdline) {
    exits_run(cmdline);
    reboot();
}

/* Firecracker's boot-timer signal: the byte 123 at its page, as a guest's init would write it
 * through /dev/mem once booted. Other widths and values first, which must not count. */
void scenario_boot_timer(void) {
    mmio_write32(0xC0000000, 123);
    mmio_write8(0xC0000000, 122);
    mmio_write8(0xC0000000, 123);
    print("swiftlet-testguest: boot-timer: signalled\n");
    reboot();
}

/* With an IDT limit of 0 no vector can be delivered: the #UD from ud2 raises #GP, that raises
 * #DF, and that shuts the CPU down (KVM_EXIT_SHUTDOWN). */
void scenario_triple_fault(void) {
    static const struct __attribute__((packed)) {
        u16 limit;
        u64 base;
    } empty_idt = {0, 0};
    print("swiftlet-testguest: triple-fault: loading an empty IDT, then ud2\n");
    __asm__ volatile("lidt %0\n\tud2" : : "m"(empty_idt));
    halt_forever(); /* not reached */
}
