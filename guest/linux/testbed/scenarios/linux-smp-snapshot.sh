# linux-smp-snapshot: a 4-vCPU guest busy on every CPU, with a counter. Pause (the counter
# must stand still until resume), pause again, snapshot, kill Swiftlet, restore in a new
# process: counting carries on with no gap, and in the 10 s after the restore the kernel
# reports no RCU stall, soft lockup or clocksource-watchdog trouble.
scenario_linux_smp_snapshot() {
    api="$SCENARIO_DIR/api.sock"
    start_swiftlet shell --cpus 4 --api-sock "$api"
    shell_prompt_or_fail
    note_init_time
    type_line 'for m in 1 2 4 8; do taskset $m sh -c "while :; do :; done" & done'
    # In the foreground, so nothing typed or prompted interleaves with the count lines; each
    # count's guest uptime goes to a file, to find the kernel messages logged after the snapshot.
    type_line 'sleep 1; i=0; while [ $i -lt 60 ]; do i=$((i+1)); echo "count $i"; read t _ </proc/uptime; echo "$i $t" >>/tmp/times; sleep 0.1; done; echo counter-done'
    wait_for_console '^count 10$' 90 || stop_and_fail "the guest did not count: $(diagnose)"

    pause_started=$(now)
    "$SWIFTLET" pause --api-sock "$api" >pause.out 2>&1 || stop_and_fail "pause failed: $(cat pause.out)"
    note "pause with 4 busy vCPUs $(seconds_between "$pause_started" "$(now)") s"
    paused_size=$(wc -c <"$CONSOLE")
    sleep 2
    [ "$(wc -c <"$CONSOLE")" = "$paused_size" ] || stop_and_fail "the guest made progress while paused"
    "$SWIFTLET" resume --api-sock "$api" >resume.out 2>&1 || stop_and_fail "resume failed: $(cat resume.out)"
    wait_for_console "^count $(($(complete_counts "$CONSOLE" | tail -n1) + 2))\$" 30 ||
        stop_and_fail "no progress after resume: $(diagnose)"

    snapshot_and_kill "$api"
    last=$(complete_counts before.log | tail -n1)
    [ -n "$last" ] || fail "no count before the snapshot"

    restore_in_fresh_process
    wait_for_console '^counter-done$' "$TESTBED_SCENARIO_TIMEOUT" || stop_and_fail "the restored guest did not finish counting: $(diagnose)"
    restored_for=$(seconds_between "$RESTORE_STARTED" "$(now)")
    awk -v s="$restored_for" 'BEGIN { exit !(s >= 10) }' || sleep 10

    cat before.log restored.log >joined.log
    complete_counts joined.log | awk 'NR != $1 { bad = 1 } END { exit bad || NR != 60 }' ||
        stop_and_fail "counting did not carry on: $(complete_counts joined.log | tr '\n' ' ' | tail -c 120)"
    type_line "t=\$(awk '\$1 == $last { print \$2 }' /tmp/times); dmesg | awk -v t=\"\$t\" '{ s = \$0; sub(/^\\[ */, \"\", s); sub(/\\].*/, \"\", s) } s + 0 >= t' | grep -iE 'rcu.*stall|soft lockup|hard LOCKUP|timekeeping watchdog|clocksource.*(unstable|skew|watchdog)' | sed 's/^/bad: /'; echo \"dmesg-checked after \$t\""
    wait_for_console '^dmesg-checked after [0-9]' 60 || stop_and_fail "no answer from dmesg: $(diagnose)"
    console_has '^bad: ' && stop_and_fail "after the restore: $(tr -d '\r' <"$CONSOLE" | grep -m1 '^bad: ')"
    type_line 'reboot -f'
    wait_swiftlet
    expect_clean_exit
    note "counted to $last before the snapshot, 60 in all; restored guest ran ${restored_for} s"
}
