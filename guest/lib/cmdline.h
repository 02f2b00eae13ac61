/* KEY=VALUE words on a kernel (or multiboot) command line, separated by spaces or tabs. */
#ifndef GUESTLIB_CMDLINE_H
#define GUESTLIB_CMDLINE_H

#include "types.h"

/* Copies the value of the first KEY=VALUE word into value (room for max characters plus the
   NUL) and returns 1; returns 0 with value empty if there is no such word. A value longer than
   max also comes back empty, so it can never match a real name by truncation. cmdline may be
   NULL. */
int cmdline_value(const char *cmdline, const char *key, char *value, usize max);

/* The decimal value of KEY=N, or fallback if the word is missing or not a 32-bit number. */
u32 cmdline_u32(const char *cmdline, const char *key, u32 fallback);

#endif
