# linux-pause: pause the guest's shell for several seconds over the API (swiftlet pause), type
# while it is paused, resume: the answer comes only after resume and the console is responsive.
scenario_linux_pause() {
    start_swiftlet shell --api-sock "$SCENARIO_DIR/api.sock"
    shell_prompt_or_fail
    note_init_time
    "$SWIFTLET" pause --api-sock "$SCENARIO_DIR/api.sock" >pause.out 2>&1 || stop_and_fail "pause failed: $(cat pause.out)"
    "$SWIFTLET" status --api-sock "$SCENARIO_DIR/api.sock" | grep -q '"Paused"' || stop_and_fail "status does not say Paused"
    type_line 'echo $((6*7))'
    sleep 5
    console_has '^42$' && stop_and_fail "the guest answered while paused"
    "$SWIFTLET" resume --api-sock "$SCENARIO_DIR/api.sock" >resume.out 2>&1 || stop_and_fail "resume failed: $(cat resume.out)"
    wait_for_console '^42$' 30 || stop_and_fail "no answer after resume: $(diagnose)"
    type_line 'echo "lockups=$(dmesg | grep -c "soft lockup")"'
    wait_for_console '^lockups=[0-9]+$' 30 || stop_and_fail "no answer from dmesg"
    console_has '^lockups=0$' || stop_and_fail "the guest reported a soft lockup after the pause"
    type_line 'reboot -f'
    wait_swiftlet
    expect_clean_exit
    note "paused 5 s"
}
