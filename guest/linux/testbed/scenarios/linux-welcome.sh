# linux-welcome: what scripts/run-linux.sh shows a newcomer (runner.sh --interactive boots the
# same guest scenario with the same disk option). The guest finds the virtio disk, mounts it at
# /mnt, shows its README (which says how to leave) and starts the shell there; a file written in
# /mnt reaches the image, and `reboot -f` ends Swiftlet cleanly.
scenario_linux_welcome() {
    cp "$(guest_disk)" disk.img || fail "cannot copy the disk image"
    start_swiftlet welcome --disk "$SCENARIO_DIR/disk.img"
    shell_prompt_or_fail
    note_init_time
    console_has "^Swiftlet's Linux guest$" || stop_and_fail "the disk's README was not shown"
    console_has 'reboot -f' || stop_and_fail "the README does not say how to leave"
    console_has '/dev/vda is mounted at /mnt' || stop_and_fail "the disk was not mounted at /mnt"
    type_line 'echo "welcome $((6*7))" >note && sync && echo "NOTE $((1+1)) WRITTEN in $PWD"'
    wait_for_console '^NOTE 2 WRITTEN in /mnt$' 30 || stop_and_fail "writing a file in the shell's folder /mnt failed"
    type_line 'reboot -f'
    wait_swiftlet
    expect_clean_exit
    if command -v debugfs >/dev/null; then
        debugfs -R 'cat /note' disk.img 2>/dev/null | grep -q '^welcome 42$' ||
            fail "the file written in /mnt is not in the disk image"
    fi
}
