/* KEY=VALUE words on a kernel (or multiboot) command line, separated by spaces or tabs. */
#ifndef GUESTLIB_CMDLINE_H
#define GUESTLIB_CMDLINE_H

#include "types.h"

/* Copies the value of the first KEY=VALUE word into value (room for max characters plus the
   NUL) and returns 1; returns 0 with value empty if there is no such word. A value longer than
   max also comes back empty, so it can never match a real name by truncation. cmdline may be
   NULL. */
int cmdline_value(const char *cmdline, const char *key, char *value, usize max);

#endif
