#define _GNU_SOURCE
#include <fcntl.h>

#include "cblock.h"

int cblock_fallocate(int fd, int mode, int64_t offset, int64_t length) {
    return fallocate(fd, mode, (off_t)offset, (off_t)length);
}

const int CBLOCK_O_DIRECT = O_DIRECT;
