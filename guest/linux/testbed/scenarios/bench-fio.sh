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
# With TESTBED_PROFILE=1 or counters (lib.sh, profile_start), the jobs in BENCH_FIO_PROFILED are
# profiled, and the guest counts its virtio-blk interrupts and its CPU time around each of them
# too (a second shell function, `bq`); the figures then carry perf's cost and are not for
# docs/benchmarks.md's tables.
BENCH_FIO_MIB=256
BENCH_FIO_SECONDS=10
BENCH_FIO_PROFILED=${BENCH_FIO_PROFILED:-randread-qd32 read-1m}

scenario_bench_fio() {
    use_fio_guest
    direct_io_folder $((BENCH_FIO_MIB + 128))
    dd if=/dev/zero of="$DIRECT_IO_DIR/bench-fio.img" bs=1M count=0 seek=$((BENCH_FIO_MIB + 44)) 2>/dev/null ||
        fail "cannot create the disk file in $DIRECT_IO_DIR"
    # Five runs of BENCH_FIO_SECONDS after a boot that inflates fio's libraries: allow two timeouts.
    TESTBED_SCENARIO_TIMEOUT=$((TESTBED_SCENARIO_TIMEOUT * 2))
    # perf's report names the guest's kernel functions with L1's symbols (profile_perf_lines),
    # which needs the same kernel at the same addresses in both: L1 runs with nokaslr then.
    [ "$TESTBED_PROFILE" != 1 ] || TESTBED_L2_CMDLINE_EXTRA="${TESTBED_L2_CMDLINE_EXTRA:-} nokaslr"
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
    # The guest's interrupts of its virtio request queues (virtioN-req.M, one column per CPU)
    # and its CPU line, marked like bf's.
    [ "$TESTBED_PROFILE" = 0 ] ||
        type_line 'bq() { echo "BENCH-IRQ-$((1+1)) $1 $(awk '"'"'/virtio[0-9]+-req/ { for (i = 2; $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }'"'"' /proc/interrupts) $(head -n1 /proc/stat) END-$((2+2))"; }'
    bench_fio_run fill --rw=write --bs=1M --iodepth=8
    time_options="--time_based --runtime=$BENCH_FIO_SECONDS"
    bench_fio_run randread-qd1 --rw=randread --bs=4k --iodepth=1 $time_options
    bench_fio_run randread-qd32 --rw=randread --bs=4k --iodepth=32 $time_options
    bench_fio_run randwrite-qd32 --rw=randwrite --bs=4k --iodepth=32 $time_options
    bench_fio_run read-1m --rw=read --bs=1M --iodepth=8 $time_options
    bench_fio_run write-1m --rw=write --bs=1M --iodepth=8 $time_options
    type_line 'reboot -f'
    wait_swiftlet
    bench_fio_report randread-qd32 4
    bench_fio_report read-1m 1024
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
    profiled=0
    case " $BENCH_FIO_PROFILED " in *" $name "*) [ "$TESTBED_PROFILE" = 0 ] || profiled=1 ;; esac
    if [ $profiled = 1 ]; then
        bench_fio_guest_counts "$name" before
        profile_start "$name"
    fi
    type_line "bf $name $*"
    # A timed job cannot end before its runtime, and polling the console meanwhile is not free:
    # wait_for_console starts four or five busybox processes every 0.1 s, which took about 18%
    # of L1's one CPU during each job in the first profiles (TESTBED_PROFILE, 2026-12-03), CPU
    # that the guest, the VMM and L1's I/O then lacked.
    case " $* " in *" --time_based "*) sleep "$BENCH_FIO_SECONDS" ;; esac
    wait_for_console "^BENCH-FIO-2 $name .* END-4\$" "$TESTBED_SCENARIO_TIMEOUT" ||
        stop_and_fail "no result from fio's $name run: $(diagnose)"
    if [ $profiled = 1 ]; then
        profile_stop "$name"
        bench_fio_guest_counts "$name" after
    fi
    result=$(tr -d '\r' <"$CONSOLE" | grep -m1 "^BENCH-FIO-2 $name ")
    set -- $result
    [ "$3" = 0 ] && [ "${5:-}" = END-4 ] || stop_and_fail "fio's $name run failed: $result $(tr -d '\r' <"$CONSOLE" | grep -A3 "^BENCH-FIO-2 $name " | tail -n3 | tr '\n' ' ')"
    printf '%s\n' "$4" >"$name.terse"
    [ "$(cut -d';' -f5 "$name.terse")" = 0 ] || stop_and_fail "fio's $name run reported error $(cut -d';' -f5 "$name.terse")"
}

# Adds the guest's counts (bq) to NAME's counters for profile_report, WHEN being before or after.
bench_fio_guest_counts() { # NAME WHEN
    type_line "bq $1-$2"
    wait_for_console "^BENCH-IRQ-2 $1-$2 .* END-4\$" 30 || stop_and_fail "no answer from the guest's bq $1-$2: $(diagnose)"
    set -- "$1" "$2" $(tr -d '\r' <"$CONSOLE" | grep -m1 "^BENCH-IRQ-2 $1-$2 ")
    # $5 the interrupts, $6 to ${14} "cpu" and user, nice, system, idle, iowait, irq, softirq, steal.
    printf 'guest_irq %s\nguest_cpu %s\n' "$5" "$6 $7 $8 $9 ${10} ${11} ${12} ${13} ${14}" >>"$SCENARIO_DIR/$1.counters-$2"
}

# Prints the profile of the job NAME (profile_report), if it was profiled; its requests are
# the KiB it read and wrote (terse fields 6 and 47) in blocks of BLOCK_KIB.
bench_fio_report() { # NAME BLOCK_KIB
    [ -f "$SCENARIO_DIR/$1.counters-after" ] || return 0
    profile_report "$1" "$(awk -F';' -v bs="$2" '{ printf "%d", ($6 + $47) / bs }' "$1.terse")"
}

# Notes FIELD of NAME's terse line (divided by DIVISOR) in FORMAT; fails if it is not positive.
bench_fio_field() { # NAME FIELD FORMAT [DIVISOR]
    figure=$(awk -F';' -v f="$2" -v format="$3" -v d="${4:-1}" '$f + 0 > 0 { printf format, $f / d }' "$1.terse")
    [ -n "$figure" ] || fail "no figure in field $2 of fio's $1 line: $(cut -c1-200 "$1.terse")"
    note "$figure"
}
