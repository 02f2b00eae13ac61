/* Scenarios that exercise the serial console and the PIT: hello, echo, count, idle, iostorm. */
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

/* "iostorm N N\n" for N = 0, 1, 2, ... with no delay: the console never rests, so a pause,
 * snapshot or restore always lands mid-stream. N twice makes each line self-checking: a lost,
 * doubled or torn byte shows up as a line that does not parse or whose two numbers differ, and
 * consecutive N show that no line went missing or came twice. */
void scenario_iostorm(void) {
    for (u64 n = 0;; n++) {
        print("iostorm ");
        print_dec(n);
        serial_putc(' ');
        print_dec(n);
        serial_putc('\n');
    }
}
