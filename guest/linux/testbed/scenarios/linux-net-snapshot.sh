# linux-net-snapshot: the guest's connections survive a snapshot. The guest (scenario `net-ping`
# of guest/linux/init) configures its network and pings L1 once a second, and echoes over vsock
# both ways (issue 11: after a restore the guest's vsock gets TRANSPORT_RESET and reconnects). Each check in
# LINUX_NET_SNAPSHOT_CHECKS runs while the first Swiftlet process runs, and again after pause,
# snapshot, kill and a restore in a fresh Swiftlet process (`swiftlet run --restore`), which
# reopens the persistent tap0 by its name from the snapshot.
#
# A check is a function linux_net_snapshot_check_NAME PHASE (PHASE is `before` or `after`) that
# returns, or ends the scenario with stop_and_fail; $CONSOLE is the console of the Swiftlet
# process of that phase. The first process gets the tap and a vsock device; the restore takes
# every device from the snapshot.
LINUX_NET_SNAPSHOT_CHECKS="ping vsock"

# Ping both ways: 5 pings from L1 with none lost, and a ping from the guest answered in this
# phase (after a restore the console is a new file, so an old answer does not count).
linux_net_snapshot_check_ping() { # PHASE
    # After a restore, 5 of 5 pings were lost twice in many runs (2026-12-01, 2026-12-03) while
    # the guest itself ran on; the cause is not found (docs/testbed.md). One more round, 3 s
    # later, tells a stall of a few seconds from a dead receive path, and the note shows it.
    if ! ping_guest 5 && [ "$1" = after ]; then
        note "first 5 pings after the restore lost (${PING_SUMMARY:-no output}); retried"
        sleep 3
        ping_guest 5 || stop_and_fail "$1 the snapshot: L1 → guest ping lost packets twice: ${PING_SUMMARY:-no output}"
    fi
    [ -n "$PING_SUMMARY" ] && case $PING_SUMMARY in *" 0% packet loss"*) ;; *) false ;; esac ||
        stop_and_fail "$1 the snapshot: L1 → guest ping lost packets: ${PING_SUMMARY:-no output}"
    wait_for_console '^SWIFTLET-GUEST: ping [0-9]+ ok' 30 ||
        stop_and_fail "$1 the snapshot: the guest's pings to L1 got no answer: $(diagnose)"
    note "ping $1: $(printf '%s\n' "$PING_SUMMARY" | sed -n 's/.*= [0-9.]*\/\([0-9.]*\)\/.*/avg \1 ms/p')"
}

# vsock both ways: the guest's own connection to L1's echo on port 1234 (through uds_path_1234)
# succeeds in this phase, and L1 reaches the guest's echo on port 52 through uds_path.
linux_net_snapshot_check_vsock() { # PHASE
    wait_for_console '^SWIFTLET-GUEST: vsock [0-9]+ ok' 30 ||
        stop_and_fail "$1 the snapshot: the guest's vsock connections to L1 failed: $(tr -d '\r' <"$CONSOLE" | grep '^SWIFTLET-GUEST: vsock' | tail -n1)"
    answer=$(echo "from L1 $1" | timeout 20 "$TESTBED_IMAGES/vsock-echo" uds-connect "$VSOCK_UDS" 52 2>"$SCENARIO_DIR/uds-connect.err")
    [ "$answer" = "from L1 $1" ] ||
        stop_and_fail "$1 the snapshot: L1 → guest vsock echo gave '$answer': $(cat "$SCENARIO_DIR/uds-connect.err")"
    note "vsock both ways $1"
}

linux_net_snapshot_run_checks() { # PHASE
    for check in $LINUX_NET_SNAPSHOT_CHECKS; do
        "linux_net_snapshot_check_$check" "$1"
    done
}

scenario_linux_net_snapshot() {
    use_network
    api="$SCENARIO_DIR/api.sock"
    VSOCK_UDS="$SCENARIO_DIR/v.sock"
    [ -x "$TESTBED_IMAGES/vsock-echo" ] || fail "no $TESTBED_IMAGES/vsock-echo (scripts/build-guest.sh builds it)"
    # L1's echo for the guest's connections to port 1234; it outlives both Swiftlet processes.
    "$TESTBED_IMAGES/vsock-echo" uds-echo "${VSOCK_UDS}_1234" 2>"$SCENARIO_DIR/host-echo.err" &
    host_echo=$!
    # One trap for both: use_network's removes the tap, which the next scenario creates again.
    trap 'kill "$host_echo" 2>/dev/null; remove_tap' EXIT
    # shellcheck disable=SC2086
    start_swiftlet net-ping $NET_OPTION --vsock "cid=3,uds=$VSOCK_UDS" --api-sock "$api"
    wait_for_console '^SWIFTLET-GUEST: net (up|missing)' "$TESTBED_SCENARIO_TIMEOUT" ||
        stop_and_fail "the guest did not configure its network: $(diagnose)"
    note_init_time
    console_has '^SWIFTLET-GUEST: net up' ||
        stop_and_fail "$(tr -d '\r' <"$CONSOLE" | grep -m1 '^SWIFTLET-GUEST: net missing' | sed 's/^SWIFTLET-GUEST: //')"
    linux_net_snapshot_run_checks before

    snapshot_and_kill "$api"
    restore_in_fresh_process
    wait_for_console '^SWIFTLET-GUEST: ping [0-9]+ ' 60 || stop_and_fail "the restored guest printed nothing: $(diagnose)"
    note "restored to its next ping in $(seconds_between "$RESTORE_STARTED" "$(now)") s"
    linux_net_snapshot_run_checks after
    kill_swiftlet TERM
    console_has '^SWIFTLET-GUEST: init reached' && fail "the restored guest booted again instead of carrying on"
    return 0
}
