/* Scenarios that exercise the serial console and the PIT: hello, echo, count. */
#include "lib.h"
#include "scenarios.h"
#include "timer.h"

void scenario_hello(void) {
    print("swiftlet-testguest: hello\n");
    reboot();
}

enum { ECHO_LINE_MAX = 128 };

void scenario_echo(void) {
    char line[ECHO_LINE_MAX + 1];
    usize length = 0;
    int previous_was_cr = 0;
    print("swiftlet-testguest: echo ready\n");
    for (;;) {
        int c = serial_getc();
        if (c == '\n' && previous_was_cr) {
            /* second half of a CRLF: the line already ended at the CR */
            previous_was_cr = 0;
            continue;
        }
        previous_was_cr = c == '\r';
        if (c == '\r' || c == '\n') {
            line[length] = 0;
            if (str_equal(line, "quit")) reboot();
            print("echo: ");
            print(line);
            serial_putc('\n');
            length = 0;
        } else if (length < ECHO_LINE_MAX) {
            line[length++] = (char)c;
        }
    }
}

void scenario_count(void) {
    /* All state is in registers and guest RAM, so a snapshot/restore mid-run just continues. */
    for (u64 n = 1;; n++) {
        print("count ");
        print_dec(n);
        serial_putc('\n');
        delay_ms(100);
    }
}

/* Idles in HLT with interrupts off, so the vCPU stays inside KVM_RUN and never exits on its
 * own: only the VMM's kick can bring it out (pause, snapshot, stop). */
void scenario_idle(void) {
    print("swiftlet-testguest: idle\n");
    for (;;) __asm__ volatile("cli; hlt");
}
