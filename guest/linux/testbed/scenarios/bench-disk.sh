# bench-disk: sequential virtio-blk throughput, for `scripts/bench.sh --linux` (docs/benchmarks.md).
# The VMM under test ($SWIFTLET: Swiftlet, or QEMU's virtio-blk-pci with --vmm qemu) gets a fresh
# sparse 300 MiB raw file in L1's tmpfs as its only disk; in the guest's shell, busybox dd writes
# 256 MiB of zeros to /dev/vda with O_DIRECT, then reads them back with O_DIRECT, so the guest's
# page cache is bypassed both ways. Each transfer is timed with the guest's own clock
# (/proc/uptime, 10 ms steps; busybox's dd prints no rate) and noted as
# `write 256 MiB in S s (R MiB/s)` and `read 256 MiB in S s (R MiB/s)`.
# Runs under the emulated L1 in the nested testbed: the figures are emulator time, for comparing
# the two VMMs within one run, never absolute.
BENCH_DISK_MIB=256

scenario_bench_disk() {
    dd if=/dev/zero of=bench-disk.img bs=1M count=0 seek=300 2>/dev/null || fail "cannot create the 300 MiB disk file"
    start_swiftlet shell --disk "$SCENARIO_DIR/bench-disk.img"
    shell_prompt_or_fail
    note_init_time
    # One function in the guest's shell keeps the typed lines short. The result line's marker is
    # computed ($((1+1))), so the echo of the typed line itself never matches it.
    type_line 'bench_dd() { name=$1; shift; [ -b /dev/vda ] || echo "no /dev/vda"; a=$(cut -d" " -f1 /proc/uptime); dd "$@" bs=1M count='"$BENCH_DISK_MIB"' 2>/tmp/dd.err; rc=$?; b=$(cut -d" " -f1 /proc/uptime); echo "BENCH-DD-$((1+1)) $name $rc $a $b $(tr "\n" " " </tmp/dd.err)"; }'
    # The request limits the guest's virtio_blk derived from the device's features (segments per
    # request, KiB per request): they explain most differences between the VMMs' figures.
    type_line 'q=/sys/block/vda/queue; echo "BENCH-QUEUE-$((1+1)) $(cat $q/max_segments) segments, $(cat $q/max_sectors_kb) KiB"'
    wait_for_console '^BENCH-QUEUE-2 ' 30 || stop_and_fail "no /sys/block/vda/queue: $(diagnose)"
    note "vda requests at most $(tr -d '\r' <"$CONSOLE" | sed -n 's/^BENCH-QUEUE-2 //p' | head -n1)"
    bench_disk_transfer write if=/dev/zero of=/dev/vda oflag=direct
    bench_disk_transfer read if=/dev/vda of=/dev/null iflag=direct
    type_line 'reboot -f'
    wait_swiftlet
    expect_clean_exit
}

bench_disk_transfer() { # NAME DD_ARGUMENTS...
    name=$1
    shift
    type_line "bench_dd $name $*"
    wait_for_console "^BENCH-DD-2 $name " "$TESTBED_SCENARIO_TIMEOUT" ||
        stop_and_fail "no result from the $name transfer: $(diagnose)"
    result=$(tr -d '\r' <"$CONSOLE" | grep -m1 "^BENCH-DD-2 $name ")
    # BENCH-DD-2 NAME RC START END <dd's messages>
    set -- $result
    [ "$3" = 0 ] && printf '%s\n' "$result" | grep -q " $BENCH_DISK_MIB+0 records out" ||
        stop_and_fail "dd $name failed: $result"
    rate=$(awk -v a="$4" -v b="$5" -v mib="$BENCH_DISK_MIB" \
        'BEGIN { if (b - a <= 0) exit 1; printf "%.2f s (%.1f MiB/s)", b - a, mib / (b - a) }') ||
        stop_and_fail "dd $name took no measurable time: $result"
    note "$name $BENCH_DISK_MIB MiB in $rate"
}
