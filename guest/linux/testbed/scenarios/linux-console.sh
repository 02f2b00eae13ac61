# linux-console: the guest's shell on Swiftlet's serial console. Types `echo $((6*7))` into
# Swiftlet's stdin, expects 42 on a line of its own (the echoed command line does not match),
# then `reboot -f`, after which Swiftlet must exit 0.
scenario_linux_console() {
    start_swiftlet shell
    if ! wait_for_console '^SWIFTLET-GUEST: shell ready' "$TESTBED_SCENARIO_TIMEOUT" ||
        ! wait_for_console 'swiftlet-guest# ' 30; then
        kill "$SWIFTLET_PID" 2>/dev/null
        wait_swiftlet
        fail "no shell prompt: $(diagnose)"
    fi
    note_init_time
    type_line 'echo $((6*7))'
    if ! wait_for_console '^42$' 30; then
        kill "$SWIFTLET_PID" 2>/dev/null
        wait_swiftlet
        fail "typed 'echo \$((6*7))' but no line '42' came back: $(diagnose)"
    fi
    type_line 'reboot -f'
    wait_swiftlet
    expect_clean_exit
}
