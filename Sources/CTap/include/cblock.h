#ifndef CBLOCK_H
#define CBLOCK_H

// fallocate is a GNU extension that the Swift Glibc module does not declare, and its mode bits
// live in <linux/falloc.h>; the block device needs both for DISCARD and WRITE_ZEROES.

#include <linux/falloc.h>
#include <stdint.h>

static const int CBLOCK_FALLOC_KEEP_SIZE = FALLOC_FL_KEEP_SIZE;
static const int CBLOCK_FALLOC_PUNCH_HOLE = FALLOC_FL_PUNCH_HOLE;
static const int CBLOCK_FALLOC_ZERO_RANGE = FALLOC_FL_ZERO_RANGE;

// O_DIRECT is also behind _GNU_SOURCE in glibc's headers; cblock.c, built with it, exports it.
extern const int CBLOCK_O_DIRECT;

/// fallocate(fd, mode, offset, length): 0, or -1 with errno set.
int cblock_fallocate(int fd, int mode, int64_t offset, int64_t length);

#endif
