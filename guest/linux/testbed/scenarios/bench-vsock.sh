# bench-vsock: virtio-vsock throughput both ways, for `scripts/bench.sh --linux`
# (docs/benchmarks.md). Each stream is BENCH_VSOCK_MIB MiB (default 16) of zeros, sent by
# `vsock-echo connect`/`uds-connect` and counted and thrown away by `vsock-echo sink`/`uds-sink`
# (guest/vsock-echo), which closes once it has read everything: the sender ends only then, so its
# time covers the whole delivery. The receiver's byte count must match. Noted:
#   `host → guest N MiB in S s (R MiB/s)`, timed with L1's clock around the sender
#   `guest → host N MiB in S s (R MiB/s)`, timed with the guest's clock around its sender
# The host side depends on the VMM under test:
#   - Swiftlet (--vsock cid=3,uds=...): Firecracker's Unix-socket model, so L1 sends with
#     uds-connect ("CONNECT 52") and receives the guest's connection to CID 2 port 1234 on
#     uds_1234; the data path runs through Swiftlet's process.
#   - QEMU (--vmm qemu, scripts/lib/qemu-as-swiftlet.sh: vhost-vsock-pci, guest-cid=3): L1's
#     own AF_VSOCK, connecting to CID 3 port 52 and listening on port 1234; the data path is
#     L1's kernel (vhost_vsock), not QEMU's process.
# Emulator times: compare the two VMMs within one run, never absolute.
BENCH_VSOCK_MIB=${BENCH_VSOCK_MIB:-16}

scenario_bench_vsock() {
    # Boot and two streams through the emulated CPUs may outlast one scenario timeout.
    TESTBED_SCENARIO_TIMEOUT=$((TESTBED_SCENARIO_TIMEOUT * 2))
    tool="$TESTBED_IMAGES/vsock-echo"
    [ -x "$tool" ] || fail "no $tool (scripts/build-guest.sh builds it)"
    bytes=$((BENCH_VSOCK_MIB * 1048576))
    uds="$SCENARIO_DIR/v.sock"
    vmm=swiftlet
    case $(head -n 3 "$SWIFTLET" 2>/dev/null) in *"stand-in for \`swiftlet run\` built on QEMU"*) vmm=qemu ;; esac
    if [ $vmm = qemu ]; then
        [ -c /dev/vhost-vsock ] || fail "no /dev/vhost-vsock in L1 for QEMU's vhost-vsock-pci (module vhost_vsock; l1-init)"
        "$tool" sink 1234 >host-sink.out 2>host-sink.err &
        note "host side: AF_VSOCK in L1 (vhost-vsock)"
    else
        "$tool" uds-sink "${uds}_1234" >host-sink.out 2>host-sink.err &
        note "host side: Unix socket (Swiftlet)"
    fi
    host_sink=$!
    trap 'kill "$host_sink" 2>/dev/null' EXIT
    start_swiftlet shell --vsock "cid=3,uds=$uds"
    shell_prompt_or_fail
    note_init_time
    type_line 'vsock-echo sink 52 >/tmp/sink.out & sleep 1; echo "BENCH-VSOCK-LISTENING-$((1+1))"'
    wait_for_console '^BENCH-VSOCK-LISTENING-2$' 30 || stop_and_fail "the guest's sink did not start: $(diagnose)"

    # Host → guest, timed in L1.
    rx_started=$(now)
    if [ $vmm = qemu ]; then
        head -c "$bytes" /dev/zero | timeout "$TESTBED_SCENARIO_TIMEOUT" "$tool" connect 3 52 >/dev/null 2>connect.err
    else
        head -c "$bytes" /dev/zero | timeout "$TESTBED_SCENARIO_TIMEOUT" "$tool" uds-connect "$uds" 52 >/dev/null 2>connect.err
    fi || stop_and_fail "host → guest send failed: $(cat connect.err)"
    rx_seconds=$(seconds_between "$rx_started" "$(now)")
    type_line 'echo "BENCH-VSOCK-RX-$((1+1)) $(cat /tmp/sink.out)"'
    wait_for_console '^BENCH-VSOCK-RX-2 ' 30 || stop_and_fail "no byte count from the guest's sink: $(diagnose)"
    received=$(tr -d '\r' <"$CONSOLE" | grep -m1 '^BENCH-VSOCK-RX-2 ' | cut -d' ' -f2)
    [ "$received" = "$bytes" ] || stop_and_fail "the guest received '$received' bytes, not $bytes"
    note "host → guest $BENCH_VSOCK_MIB MiB in $(bench_vsock_rate "$rx_seconds")"

    # Guest → host, timed in the guest.
    type_line "a=\$(cut -d' ' -f1 /proc/uptime); head -c $bytes /dev/zero | vsock-echo connect 2 1234 >/dev/null; rc=\$?; b=\$(cut -d' ' -f1 /proc/uptime); echo \"BENCH-VSOCK-TX-\$((1+1)) \$rc \$a \$b\""
    wait_for_console '^BENCH-VSOCK-TX-2 ' "$TESTBED_SCENARIO_TIMEOUT" || stop_and_fail "no result from the guest's send: $(diagnose)"
    # shellcheck disable=SC2046
    set -- $(tr -d '\r' <"$CONSOLE" | grep -m1 '^BENCH-VSOCK-TX-2 ')
    [ "$2" = 0 ] || stop_and_fail "the guest's send to CID 2 port 1234 failed: $*; host sink: $(cat host-sink.err)"
    tx_seconds=$(seconds_between "$3" "$4")
    received=$(head -n1 host-sink.out)
    [ "$received" = "$bytes" ] || stop_and_fail "the host received '$received' bytes, not $bytes"
    note "guest → host $BENCH_VSOCK_MIB MiB in $(bench_vsock_rate "$tx_seconds")"

    type_line 'reboot -f'
    wait_swiftlet
    expect_clean_exit
}

bench_vsock_rate() { # SECONDS → `S s (R MiB/s)`
    awk -v s="$1" -v mib="$BENCH_VSOCK_MIB" 'BEGIN { if (s <= 0) { print s " s"; exit } printf "%.2f s (%.1f MiB/s)", s, mib / s }'
}
