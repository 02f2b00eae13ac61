/* Ending a guest: the i8042 reset line, and halting with interrupts off. */
#ifndef GUESTLIB_RESET_H
#define GUESTLIB_RESET_H

void i8042_reset(void); /* outb(0x64, 0xFE): pulse the CPU reset line */
__attribute__((noreturn)) void halt_forever(void); /* cli; hlt in a loop */
__attribute__((noreturn)) void reboot(void); /* i8042 reset, then halt_forever as a fallback */

#endif
