# linux-welcome: what scripts/run-linux.sh shows a newcomer (runner.sh --interactive boots the
# same guest scenario with the same disk option). The guest finds the virtio disk, mounts it at
# /mnt, shows its README (which says how to leave) and starts the shell there; a file written in
# /mnt reaches the image, and `poweroff -f` ends Swiftlet cleanly. L1 creates tap0 as runner.sh
# --interactive does: the guest's eth0 comes up, the welcome says how to reach L1, and a ping
# typed into the shell is answered (and L1 reaches the guest).
scenario_linux_welcome() {
    cp "$(guest_disk)" disk.img || fail "cannot copy the disk image"
    use_network
    # shellcheck disable=SC2086
    start_swiftlet welcome --disk "$SCENARIO_DIR/disk.img" $NET_OPTION
    shell_prompt_or_fail
    note_init_time
    # Its first two lines: a kernel message printed in between would split them (CI saw that once,
    # before the guest's init quietened the console for the welcome).
    console_has "^Swiftlet's Linux guest$" && console_has '^======================$' ||
        stop_and_fail "the disk's README was not shown: $(tr -d '\r' <"$CONSOLE" | grep -m1 -B1 -A1 "Swiftlet's Linux guest" || echo 'no title line')"
    console_has 'poweroff -f' || stop_and_fail "the README does not say how to leave"
    console_has '/dev/vda is mounted at /mnt' || stop_and_fail "the disk was not mounted at /mnt"
    console_has "^Network: eth0 has $TESTBED_GUEST_ADDRESS/$TESTBED_NET_PREFIX; .*ping -c 3 $TESTBED_HOST_ADDRESS" ||
        stop_and_fail "the guest has no network: $(tr -d '\r' <"$CONSOLE" | grep -m1 '^Network: ' || echo 'no Network: line')"
    # The summary, not the typed line, holds "packets received".
    type_line "ping -c 3 -i 0.2 $TESTBED_HOST_ADDRESS"
    wait_for_console 'packets transmitted' 60 || stop_and_fail "ping in the guest's shell gave no summary: $(diagnose)"
    console_has '3 packets transmitted, 3 packets received, 0% packet loss' ||
        stop_and_fail "the guest's ping to L1 lost packets: $(tr -d '\r' <"$CONSOLE" | grep -m1 'packets transmitted')"
    ping_guest 3 || stop_and_fail "L1 cannot ping the guest: ${PING_SUMMARY:-no output}"
    type_line 'echo "welcome $((6*7))" >note && sync && echo "NOTE $((1+1)) WRITTEN in $PWD"'
    wait_for_console '^NOTE 2 WRITTEN in /mnt$' 30 || stop_and_fail "writing a file in the shell's folder /mnt failed"
    type_line 'poweroff -f'
    wait_swiftlet
    expect_clean_exit
    if command -v debugfs >/dev/null; then
        debugfs -R 'cat /note' disk.img 2>/dev/null | grep -q '^welcome 42$' ||
            fail "the file written in /mnt is not in the disk image"
    fi
}
