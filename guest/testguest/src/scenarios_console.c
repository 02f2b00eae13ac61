/* Scenarios that exercise the serial console and the PIT: hello, echo, count, idle. */
#include "reset.h"
#include "scenarios.h"
#include "uart.h"
#include "workloads.h"

void scenario_hello(void) {
    print("swiftlet-testguest: hello\n");
    reboot();
}

void scenario_echo(void) {
    echo_lines("swiftlet-testguest: echo ready\n", "quit");
    reboot();
}

void scenario_count(void) { count_lines(); }

/* Idles in HLT with interrupts off, so the vCPU stays inside KVM_RUN and never exits on its
 * own: only the VMM's kick can bring it out (pause, snapshot, stop). */
void scenario_idle(void) {
    print("swiftlet-testguest: idle\n");
    halt_forever();
}
