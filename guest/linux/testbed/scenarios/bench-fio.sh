# bench-fio: virtio-blk latency, IOPS and throughput measured by fio in the guest, for
# `scripts/bench.sh --linux` (docs/benchmarks.md; issue 14). The VMM under test gets a fresh
# sparse raw file as its only disk, `--disk FILE$FIO_DISK_OPTIONS` (lib.sh; default
# ",io=async,direct"); QEMU (--vmm qemu) gets the same options as aio=io_uring,cache=none
# (scripts/lib/qemu-as-swiftlet.sh). Both open the file with O_DIRECT then, which L1's tmpfs
# (Linux 6.1) refuses, so in L1 the file goes on an ext4 filesystem on a RAM disk (brd) instead
# (direct_io_folder in lib.sh).
# In the guest (fio appended to its initramfs: use_fio_guest), on the first BENCH_FIO_MIB of the
# raw /dev/vda, all with ioengine=libaio and direct=1: a sequential fill (not measured, so that
# reads read written blocks), then BENCH_FIO_SECONDS each of
#   4 KiB random read, iodepth 1: mean latency (fio's lat: submission + completion), µs
#   4 KiB random read, iodepth 32: IOPS
#   4 KiB random write, iodepth 32: IOPS
#   1 MiB sequential read, iodepth 8: MiB/s
#   1 MiB sequential write, iodepth 8: MiB/s
# noted as `randread 4k qd1 lat 123.4 us`, `randread 4k qd32 1234 IOPS`, `randwrite 4k qd32 1234
# IOPS`, `read 1M qd8 12.3 MiB/s`, `write 1M qd8 12.3 MiB/s`. fio prints one terse (v3) line per
# run, parsed here in L1. Emulator time in the nested testbed: compare the VMMs within one run.
BENCH_FIO_MIB=256
BENCH_FIO_SECONDS=10

scenario_bench_fio() {
    use_fio_guest
    direct_io_folder $((BENCH_FIO_MIB + 128))
    dd if=/dev/zero of="$DIRECT_IO_DIR/bench-fio.img" bs=1M count=0 seek=$((BENCH_FIO_MIB + 44)) 2>/dev/null ||
        fail "cannot create the disk file in $DIRECT_IO_DIR"
    # Five runs of BENCH_FIO_SECONDS after a boot that inflates fio's libraries: allow two timeouts.
    TESTBED_SCENARIO_TIMEOUT=$((TESTBED_SCENARIO_TIMEOUT * 2))
    start_swiftlet shell --disk "$DIRECT_IO_DIR/bench-fio.img$FIO_DISK_OPTIONS"
    shell_prompt_or_fail
    note_init_time
    note "disk options '$FIO_DISK_OPTIONS', $DIRECT_IO_WHERE"
    # QEMU's stand-in says which drive options it used (and why, if io_uring was refused).
    sed -n 's/^qemu-as-swiftlet: /QEMU /p' "$SWIFTLET_ERR" >qemu.notes
    while read -r line; do note "$line"; done <qemu.notes
    # One function in the guest's shell keeps the typed lines short. Its result line's marker is
    # computed ($((1+1))), so the echo of the typed line itself never matches it:
    #   BENCH-FIO-2 NAME STATUS TERSE_LINE END-4
    # (the end marker: the next line is typed only once the whole line has arrived).
    type_line 'bf() { n=$1; shift; fio --name=$n --filename=/dev/vda --size='"$BENCH_FIO_MIB"'M --ioengine=libaio --direct=1 --output-format=terse --terse-version=3 "$@" >/tmp/$n.out 2>&1; rc=$?; echo "BENCH-FIO-$((1+1)) $n $rc $(grep -m1 "^3;" /tmp/$n.out) END-$((2+2))"; grep -v "^3;" /tmp/$n.out | head -n3; }'
    bench_fio_run fill --rw=write --bs=1M --iodepth=8
    time_options="--time_based --runtime=$BENCH_FIO_SECONDS"
    bench_fio_run randread-qd1 --rw=randread --bs=4k --iodepth=1 $time_options
    bench_fio_run randread-qd32 --rw=randread --bs=4k --iodepth=32 $time_options
    bench_fio_run randwrite-qd32 --rw=randwrite --bs=4k --iodepth=32 $time_options
    bench_fio_run read-1m --rw=read --bs=1M --iodepth=8 $time_options
    bench_fio_run write-1m --rw=write --bs=1M --iodepth=8 $time_options
    type_line 'reboot -f'
    wait_swiftlet
    expect_clean_exit
    # terse v3: field 5 the error; reads from 6 (7 KiB/s, 8 IOPS, 40 mean latency in µs), writes
    # from 47 (48 KiB/s, 49 IOPS).
    bench_fio_field randread-qd1 40 'randread 4k qd1 lat %.1f us'
    bench_fio_field randread-qd32 8 'randread 4k qd32 %.0f IOPS'
    bench_fio_field randwrite-qd32 49 'randwrite 4k qd32 %.0f IOPS'
    bench_fio_field read-1m 7 'read 1M qd8 %.1f MiB/s' 1024
    bench_fio_field write-1m 48 'write 1M qd8 %.1f MiB/s' 1024
}

bench_fio_run() { # NAME FIO_OPTIONS...
    name=$1
    shift
    type_line "bf $name $*"
    wait_for_console "^BENCH-FIO-2 $name .* END-4\$" "$TESTBED_SCENARIO_TIMEOUT" ||
        stop_and_fail "no result from fio's $name run: $(diagnose)"
    result=$(tr -d '\r' <"$CONSOLE" | grep -m1 "^BENCH-FIO-2 $name ")
    set -- $result
    [ "$3" = 0 ] && [ "${5:-}" = END-4 ] || stop_and_fail "fio's $name run failed: $result $(tr -d '\r' <"$CONSOLE" | grep -A3 "^BENCH-FIO-2 $name " | tail -n3 | tr '\n' ' ')"
    printf '%s\n' "$4" >"$name.terse"
    [ "$(cut -d';' -f5 "$name.terse")" = 0 ] || stop_and_fail "fio's $name run reported error $(cut -d';' -f5 "$name.terse")"
}

# Notes FIELD of NAME's terse line (divided by DIVISOR) in FORMAT; fails if it is not positive.
bench_fio_field() { # NAME FIELD FORMAT [DIVISOR]
    figure=$(awk -F';' -v f="$2" -v format="$3" -v d="${4:-1}" '$f + 0 > 0 { printf format, $f / d }' "$1.terse")
    [ -n "$figure" ] || fail "no figure in field $2 of fio's $1 line: $(cut -c1-200 "$1.terse")"
    note "$figure"
}
