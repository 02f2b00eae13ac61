// The tiny kernel's /init (guest/linux/tiny/): reads the first disk's ext4 superblock and its
// size, prints them for the testbed scenario linux-mmio-cmdline, writes a marker into the
// disk's last sector, and restarts the machine. Static, so the initramfs needs no libc.
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

static void finish(void) {
    fflush(stdout);
    sync();
    reboot(RB_AUTOBOOT);
    for (;;) pause();
}

int main(void) {
    static const char marker[] = "written by the tiny guest";
    unsigned char super[2048];
    uint64_t size = 0;
    int disk;

    setvbuf(stdout, NULL, _IONBF, 0);
    mkdir("/dev", 0755);
    if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) != 0 && errno != EBUSY) {
        printf("TINY FAIL mount devtmpfs: %s\n", strerror(errno));
        finish();
    }
    disk = open("/dev/vda", O_RDWR);
    if (disk < 0) {
        printf("TINY FAIL open /dev/vda: %s\n", strerror(errno));
        finish();
    }
    if (ioctl(disk, BLKGETSIZE64, &size) != 0 || pread(disk, super, sizeof super, 0) != (ssize_t)sizeof super) {
        printf("TINY FAIL reading /dev/vda: %s\n", strerror(errno));
        finish();
    }
    // The ext4 magic sits 56 bytes into the superblock, which starts at byte 1024.
    printf("TINY vda bytes=%llu magic=%02x%02x\n", (unsigned long long)size, super[1024 + 57], super[1024 + 56]);
    if (size < 512 || pwrite(disk, marker, sizeof marker - 1, (off_t)(size - 512)) != (ssize_t)(sizeof marker - 1) || fsync(disk) != 0) {
        printf("TINY FAIL writing /dev/vda: %s\n", strerror(errno));
        finish();
    }
    printf("TINY DONE\n");
    finish();
    return 0;
}
