# bench-net: virtio-net throughput and ping round trip, for `scripts/bench.sh --linux`
# (docs/benchmarks.md). The VMM under test ($SWIFTLET: Swiftlet, or QEMU's virtio-net-pci with
# vhost=off under --vmm qemu, vhost=on with QEMU_NET_VHOST=on, noted as `QEMU net vhost=on`) gets tap0 (L1 172.30.0.1, the guest 172.30.0.2, configured by the
# guest's `shell` scenario). Noted:
#   `ping L1 → guest avg A ms`, `ping guest → L1 avg A ms` (20 pings each, 5 a second)
#   `L1 → guest 16 MiB in S s (R MiB/s)`, `guest → L1 16 MiB in S s (R MiB/s)`
# Each stream is BENCH_NET_MIB MiB of zeros through busybox nc, thrown away by the receiver, so
# that neither checksums nor random numbers limit it (linux-net checks the data). L1 → guest is
# timed with L1's clock around its nc (which ends once the guest has read everything and
# closed), guest → L1 with the guest's clock around the guest's nc. Emulator times: compare the
# two VMMs within one run, never absolute.
BENCH_NET_MIB=16

scenario_bench_net() {
    # Boot, 40 pings and 32 MiB through the emulated CPUs outlast one scenario timeout on a busy host.
    TESTBED_SCENARIO_TIMEOUT=$((TESTBED_SCENARIO_TIMEOUT * 3))
    use_network
    bytes=$((BENCH_NET_MIB * 1048576))
    # shellcheck disable=SC2086
    start_swiftlet shell $NET_OPTION
    shell_prompt_or_fail
    note_init_time
    console_has '^SWIFTLET-GUEST: net up' || stop_and_fail "the guest has no network: $(diagnose)"
    # QEMU's stand-in says whether its data path is its own (vhost=off) or vhost-net's.
    sed -n 's/^qemu-as-swiftlet: net /QEMU net /p' "$SWIFTLET_ERR" >qemu.notes
    while read -r line; do note "$line"; done <qemu.notes

    ping_guest 20 || stop_and_fail "L1 → guest ping lost packets: ${PING_SUMMARY:-no output}"
    note "ping L1 → guest $(bench_net_ping_average "$PING_SUMMARY")"
    # The marker is computed ($((1+1))), so the echo of the typed line itself never matches it.
    type_line "echo \"BENCH-PING-\$((1+1)) \$(ping -c 20 -i 0.2 -W 5 $TESTBED_HOST_ADDRESS | grep -E 'transmitted|round-trip' | tr '\\n' ' ')\""
    wait_for_console '^BENCH-PING-2 ' 60 || stop_and_fail "no ping result from the guest: $(diagnose)"
    guest_ping=$(tr -d '\r' <"$CONSOLE" | grep -m1 '^BENCH-PING-2 ')
    case $guest_ping in
    *"20 packets received, 0% packet loss"*) ;;
    *) stop_and_fail "guest → L1 ping lost packets: $guest_ping" ;;
    esac
    note "ping guest → L1 $(bench_net_ping_average "$guest_ping")"

    # L1 → guest: the guest's nc reads from a FIFO opened read-write, so its stdin never ends
    # (busybox nc half-closes when it does). L1 retries until the guest listens.
    type_line "mkfifo /tmp/nc-in; nc -l -p 5001 0<>/tmp/nc-in >/dev/null; echo \"BENCH-RX-\$((1+1)) \$?\""
    rx_seconds=
    for _ in $(seq 50); do
        # Retrying only makes sense while the guest runs: after a stalled transfer timed out, its
        # Swiftlet has too, and every further connect would wait for ARP in vain.
        kill -0 "$SWIFTLET_PID" 2>/dev/null || break
        started=$(now)
        if head -c "$bytes" /dev/zero | timeout "$TESTBED_SCENARIO_TIMEOUT" busybox nc "$TESTBED_GUEST_ADDRESS" 5001 >/dev/null 2>&1; then
            rx_seconds=$(seconds_between "$started" "$(now)")
            break
        fi
        sleep 0.5
    done
    [ -n "$rx_seconds" ] || stop_and_fail "L1 could not send to the guest's port 5001"
    wait_for_console '^BENCH-RX-2 0' 60 || stop_and_fail "the guest's nc did not end: $(diagnose)"
    note "L1 → guest $BENCH_NET_MIB MiB in $(bench_net_rate "$rx_seconds")"
    # Frames the driver took from the device: their average size says whether the tap handed
    # over GSO frames (tens of KiB) or one segment at a time (about 1.5 KiB).
    type_line "echo \"BENCH-RXSTATS-\$((1+1)) \$(cat /sys/class/net/eth0/statistics/rx_packets) \$(cat /sys/class/net/eth0/statistics/rx_bytes)\""
    if wait_for_console '^BENCH-RXSTATS-2 [0-9]' 30; then
        set -- $(tr -d '\r' <"$CONSOLE" | grep -m1 '^BENCH-RXSTATS-2 ')
        note "guest eth0 received $2 frames, $3 bytes ($(awk -v p="$2" -v b="$3" 'BEGIN { printf "%.0f", p ? b / p : 0 }') bytes a frame)"
    fi

    # Guest → L1, timed in the guest.
    mkfifo nc-stdin || stop_and_fail "mkfifo failed"
    timeout "$TESTBED_SCENARIO_TIMEOUT" busybox nc -l -p 5002 0<>nc-stdin >/dev/null &
    receiver=$!
    type_line "a=\$(cut -d' ' -f1 /proc/uptime); head -c $bytes /dev/zero | nc $TESTBED_HOST_ADDRESS 5002 >/dev/null; rc=\$?; b=\$(cut -d' ' -f1 /proc/uptime); echo \"BENCH-TX-\$((1+1)) \$rc \$a \$b\""
    wait_for_console '^BENCH-TX-2 ' "$TESTBED_SCENARIO_TIMEOUT" || stop_and_fail "no result from the guest's send: $(diagnose)"
    wait "$receiver"
    set -- $(tr -d '\r' <"$CONSOLE" | grep -m1 '^BENCH-TX-2 ')
    [ "$2" = 0 ] || stop_and_fail "the guest's nc to L1 failed: $*"
    note "guest → L1 $BENCH_NET_MIB MiB in $(bench_net_rate "$(seconds_between "$3" "$4")")"

    type_line 'reboot -f'
    wait_swiftlet
    expect_clean_exit
}

bench_net_ping_average() { # BUSYBOX_PING_SUMMARY → `avg A ms`
    printf '%s\n' "$1" | sed -n 's/.*round-trip min\/avg\/max = [0-9.]*\/\([0-9.]*\)\/.*/avg \1 ms/p'
}

bench_net_rate() { # SECONDS → `S s (R MiB/s)`
    awk -v s="$1" -v mib="$BENCH_NET_MIB" 'BEGIN { if (s <= 0) { print s " s"; exit } printf "%.2f s (%.1f MiB/s)", s, mib / s }'
}
