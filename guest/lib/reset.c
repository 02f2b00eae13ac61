#include "reset.h"
#include "portio.h"

void i8042_reset(void) { outb(0x64, 0xFE); }

void halt_forever(void) {
    for (;;) __asm__ volatile("cli; hlt");
}

void reboot(void) {
    i8042_reset();
    halt_forever();
}
