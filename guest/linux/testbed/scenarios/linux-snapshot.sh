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
    snapshot_and_kill "$api"
    note "snapshot $SNAPSHOT_SECONDS s"
    last=$(complete_counts before.log | tail -n1)
    [ -n "$last" ] || fail "no count before the snapshot"

    restore_in_fresh_process
    wait_for_console '^count ' 60 || stop_and_fail "the restored guest printed nothing: $(diagnose)"
    note "restored to the next line in $(seconds_between "$RESTORE_STARTED" "$(now)") s"
    wait_for_console '^SWIFTLET-GUEST: disk write [0-9]+ ok' 60 || stop_and_fail "the disk did not work after restore: $(diagnose)"
    # Two lines past the snapshot before stopping: with the snapshot at a count just before a
    # disk write (14, say), the write's marker comes right after the first restored line, and
    # stopping there once left too little to check (CI, 2026-12-02).
    wait_for_console "^count $((last + 2))\$" 60 || stop_and_fail "the restored guest did not count to $((last + 2)): $(diagnose)"
    kill_swiftlet TERM
    console_has '^SWIFTLET-GUEST: init reached' && fail "the restored guest booted again instead of carrying on"
    cat before.log restored.log >joined.log
    complete_counts joined.log | awk 'NR != $1 { bad = 1 } END { exit bad || NR == 0 }' ||
        fail "counting did not carry on: $(complete_counts joined.log | tr '\n' ' ' | tail -c 120)"
    after=$(complete_counts joined.log | tail -n1)
    [ "$after" -gt $((last + 1)) ] || fail "the restored guest did not count past $last"
    note "counted $last before, $after after"
}
