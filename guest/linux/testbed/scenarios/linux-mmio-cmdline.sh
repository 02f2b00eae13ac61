# linux-mmio-cmdline: a kernel with neither ACPI nor PCI (tinyconfig plus
# guest/linux/tiny/kernel.config, built by scripts/build-tiny-kernel.sh) boots with acpi=off and
# finds its disk through the `virtio_mmio.device=` word Swiftlet appends alone, with the disk's
# interrupt routed by Swiftlet's MP table (Intel MP 1.4).
#   - The kernel registers the device from the command line and reads the MP table.
#   - Its init (guest/linux/tiny/init.c) reads /dev/vda's size and ext4 superblock, and writes a
#     marker into the last sector, which the host then finds in the image.
scenario_linux_mmio_cmdline() {
    [ -f "$TESTBED_TINY_IMAGES/bzImage" ] || fail "no tiny kernel in $TESTBED_TINY_IMAGES (scripts/build-tiny-kernel.sh)"
    cp "$(guest_disk)" disk.img || fail "cannot copy the disk image"
    size=$(wc -c <disk.img | tr -d ' ')
    # Only what this kernel needs: no i8042 words (it has no i8042 driver) and acpi=off, which
    # it would not need either (it has no ACPI), to say what is being tested.
    GUEST_BASE_CMDLINE="console=ttyS0 earlyprintk=serial panic=-1 acpi=off"
    TESTBED_L2_KERNEL="$TESTBED_TINY_IMAGES/bzImage" TESTBED_L2_INITRAMFS="$TESTBED_TINY_IMAGES/initramfs.cpio" TESTBED_L2_MEMORY=128
    run_swiftlet tiny --transport mmio --disk "$SCENARIO_DIR/disk.img"
    console_has 'Intel MultiProcessor Specification v1\.4' || fail "the kernel did not read Swiftlet's MP table: $(diagnose)"
    console_has 'virtio-mmio: Registering device virtio-mmio\.0 at 0x[0-9a-f]+-0x[0-9a-f]+, IRQ [0-9]+' ||
        fail "the kernel registered no virtio-mmio device from the command line: $(diagnose)"
    console_has 'ACPI: ' && fail "a kernel without ACPI printed ACPI lines: $(tr -d '\r' <"$CONSOLE" | grep -m1 'ACPI: ')"
    console_has "^TINY vda bytes=$size magic=ef53\$" || fail "the guest did not read the disk: $(diagnose)"
    console_has '^TINY DONE$' || fail "the guest's write to the disk failed: $(diagnose)"
    expect_clean_exit
    tail -c 512 disk.img | grep -q 'written by the tiny guest' || fail "the guest's marker is not in the image's last sector"
    note "$(tr -d '\r' <"$CONSOLE" | grep -o -m1 'virtio-mmio: Registering device.*' | sed 's/\.$//')"
}
