#include "workloads.h"
#include "cmdline.h"
#include "mem.h"
#include "portio.h"
#include "timer.h"
#include "uart.h"

void echo_lines(const char *ready_line, const char *quit_line) {
    char line[ECHO_LINE_MAX + 1];
    usize length = 0;
    int previous_was_cr = 0;
    print(ready_line);
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
            if (quit_line && str_equal(line, quit_line)) return;
            print("echo: ");
            print(line);
            serial_putc('\n');
            length = 0;
        } else if (length < ECHO_LINE_MAX) {
            line[length++] = (char)c;
        }
    }
}

void count_lines(void) {
    for (usize n = 1;; n++) {
        print("count ");
        print_dec(n);
        serial_putc('\n');
        delay_ms(100);
    }
}

void exits_run(const char *cmdline) {
    u32 count = cmdline_u32(cmdline, "exits", EXITS_DEFAULT_COUNT);
    /* The host times the port writes between this line and the next, so VMM start-up and
       guest boot do not count. */
    print("exits start ");
    print_dec(count);
    serial_putc('\n');
    for (u32 i = 0; i < count; i++) outb(EXITS_PORT, (u8)i);
    print("exits done ");
    print_dec(count);
    serial_putc('\n');
}
