# linux-boot: Swiftlet boots Debian's kernel with the initramfs (swiftlet.test=boot); the guest's
# init marker must appear and Swiftlet must exit 0 when the guest reboots.
scenario_linux_boot() {
    run_swiftlet boot
    note_init_time
    expect_marker "init reached"
    expect_clean_exit
}
