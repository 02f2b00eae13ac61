# linux-snapshot: the guest counts and writes every fifth count to a file on its virtio disk.
# Pause, snapshot, kill Swiftlet, restore in a new Swiftlet process: counting goes on from where
# it was (no restart, no gap) and the disk still works after the restore.
scenario_linux_snapshot() {
    cp "$(guest_disk)" disk.img || fail "cannot copy the disk image"
    api="$SCENARIO_DIR/api.sock"
    start_swiftlet count-disk --disk "$SCENARIO_DIR/disk.img" --api-sock "$api"
    wait_for_console '^SWIFTLET-GUEST: disk write 10 ok' "$TESTBED_SCENARIO_TIMEOUT" ||
        stop_and_fail "the guest did not count and write its disk: $(diagnose)"
    note_init_time
    "$SWIFTLET" pause --api-sock "$api" >pause.out 2>&1 || stop_and_fail "pause failed: $(cat pause.out)"
    cp "$CONSOLE" before.log
    snapshot_started=$(now)
    "$SWIFTLET" snapshot --api-sock "$api" --state "$SCENARIO_DIR/vm.state" --mem-file "$SCENARIO_DIR/vm.mem" >snapshot.out 2>&1 ||
        stop_and_fail "snapshot failed: $(cat snapshot.out)"
    note "snapshot $(seconds_between "$snapshot_started" "$(now)") s"
    kill_swiftlet TERM
    last=$(complete_counts before.log | tail -n1)
    [ -n "$last" ] || fail "no count before the snapshot"

    restore_started=$(now)
    CONSOLE="$SCENARIO_DIR/restored.log"
    SWIFTLET_ERR="$SCENARIO_DIR/restored.err"
    timeout "$TESTBED_SCENARIO_TIMEOUT" "$SWIFTLET" run --restore "$SCENARIO_DIR/vm.state" --mem-file "$SCENARIO_DIR/vm.mem" \
        </dev/null >"$CONSOLE" 2>"$SWIFTLET_ERR" &
    SWIFTLET_PID=$!
    wait_for_console '^count ' 60 || stop_and_fail "the restored guest printed nothing: $(diagnose)"
    note "restored to the next line in $(seconds_between "$restore_started" "$(now)") s"
    wait_for_console '^SWIFTLET-GUEST: disk write [0-9]+ ok' 60 || stop_and_fail "the disk did not work after restore: $(diagnose)"
    kill_swiftlet TERM
    console_has '^SWIFTLET-GUEST: init reached' && fail "the restored guest booted again instead of carrying on"
    cat before.log restored.log >joined.log
    complete_counts joined.log | awk 'NR != $1 { bad = 1 } END { exit bad || NR == 0 }' ||
        fail "counting did not carry on: $(complete_counts joined.log | tr '\n' ' ' | tail -c 120)"
    after=$(complete_counts joined.log | tail -n1)
    [ "$after" -gt $((last + 1)) ] || fail "the restored guest did not count past $last"
    note "counted $last before, $after after"
}
