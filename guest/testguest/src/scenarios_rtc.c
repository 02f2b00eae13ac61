/* Reads the CMOS real-time clock the way Linux's rtc_cmos driver does (index on 0x70, value
 * on 0x71) and prints it, so a test can compare it with the host's clock. Under seccomp this
 * runs the clock's code on a narrowed vCPU thread, where a time-zone file lookup is fatal. */
#include "portio.h"
#include "reset.h"
#include "scenarios.h"
#include "uart.h"

static u8 cmos_read(u8 index) {
    outb(0x70, index);
    return inb(0x71);
}

static usize from_bcd(u8 value) { return (usize)(value >> 4) * 10 + (value & 0x0F); }

static void print_two_digits(usize value) {
    if (value < 10) print("0");
    print_dec(value);
}

void scenario_rtc(void) {
    /* Status B bit 2 clear: the registers hold BCD, as Swiftlet reports them. */
    const char *format = (cmos_read(0x0B) & 0x04) ? "binary" : "bcd";
    usize century = from_bcd(cmos_read(0x32)), year = from_bcd(cmos_read(0x09));
    usize month = from_bcd(cmos_read(0x08)), day = from_bcd(cmos_read(0x07));
    usize hour = from_bcd(cmos_read(0x04)), minute = from_bcd(cmos_read(0x02)), second = from_bcd(cmos_read(0x00));
    print("swiftlet-testguest: rtc: ");
    print(format);
    print(" ");
    print_dec(century * 100 + year);
    print("-");
    print_two_digits(month);
    print("-");
    print_two_digits(day);
    print(" ");
    print_two_digits(hour);
    print(":");
    print_two_digits(minute);
    print(":");
    print_two_digits(second);
    print("\n");
    reboot();
}
