# linux-disk-fio: what the guest writes through the disk under load reads back intact (issue 14).
# The guest (Debian's fio and e2fsck appended to its initramfs: use_fio_guest) mounts a copy of
# the ext4 image, then fio writes random 4 KiB blocks for FIO_TEST_SECONDS at iodepth 32 with
# libaio and O_DIRECT, and reads every block back checking its crc32c (--verify=crc32c; with
# --time_based fio splits the time between writing and verifying). One job per virtqueue of the
# disk (the entries of /sys/block/vda/mq/), each on a file of its own in the filesystem. Then it
# unmounts and `e2fsck -n` must find the filesystem clean. Fails on a verify error, a job's
# error, fio's or e2fsck's exit status.
# The disk is `--disk PATH$FIO_DISK_OPTIONS` (lib.sh; default ",io=async,direct"), the image on a
# filesystem that takes O_DIRECT (direct_io_folder in lib.sh).
FIO_TEST_SECONDS=30
# Split between the jobs; the 32 MiB image has about 25 MiB free.
FIO_TEST_MIB=16

scenario_linux_disk_fio() {
    disk_fio_verify 1
}

# The whole scenario, for a guest with CPUS vCPUs: Swiftlet gives a disk one queue per vCPU, so
# CPUS jobs run at once, one on each queue (linux-smp-disk-fio runs it with 2).
disk_fio_verify() { # CPUS
    cpus=$1
    use_fio_guest
    # On a filesystem that takes O_DIRECT, for the disk option `direct` (lib.sh).
    direct_io_folder 64
    cp "$(guest_disk)" "$DIRECT_IO_DIR/disk.img" || fail "cannot copy the disk image"
    start_swiftlet shell --cpus "$cpus" --disk "$DIRECT_IO_DIR/disk.img$FIO_DISK_OPTIONS"
    shell_prompt_or_fail
    note_init_time
    note "disk options '$FIO_DISK_OPTIONS', $DIRECT_IO_WHERE"
    # The markers are computed ($((1+1))), so the echo of the typed line never matches them.
    # A line ends with its own end marker, so that a line still arriving is never read half.
    type_line 'mount -t ext4 /dev/vda /mnt && echo "FIO-QUEUES-$((1+1)) $(ls /sys/block/vda/mq | wc -l) $(fio --version) END-$((2+2))"'
    wait_for_console '^FIO-QUEUES-2 .* END-4$' 60 || stop_and_fail "no answer to mount and /sys/block/vda/mq: $(diagnose)"
    set -- $(tr -d '\r' <"$CONSOLE" | sed -n 's/^FIO-QUEUES-2 \(.*\) END-4$/\1/p' | head -n1)
    queues=$1
    case $queues in '' | *[!0-9]* | 0) stop_and_fail "no virtqueues in /sys/block/vda/mq: $*" ;; esac
    [ "$queues" = "$cpus" ] || stop_and_fail "the disk has $queues queue(s) for $cpus vCPU(s); expected one per vCPU"
    case ${2:-} in fio-*) ;; *) stop_and_fail "fio does not run in the guest: $(tr -d '\r' <"$CONSOLE" | grep -A3 'fio --version' | tail -n3 | tr '\n' ' ')" ;; esac
    note "$2, $queues job(s), one per virtqueue"
    type_line "fio --name=verify --directory=/mnt --numjobs=$queues --size=$((FIO_TEST_MIB / queues))M" \
        "--rw=randwrite --bs=4k --iodepth=32 --ioengine=libaio --direct=1 --verify=crc32c" \
        "--time_based --runtime=$FIO_TEST_SECONDS --output-format=terse --terse-version=3 >/tmp/fio.out 2>&1;" \
        'echo "FIO-RC-$((1+1)) $?"; sed "s/^/FIO-OUT-$((1+1)) /" /tmp/fio.out'
    wait_for_console '^FIO-RC-2 ' $((FIO_TEST_SECONDS + 90)) || stop_and_fail "fio did not finish: $(diagnose)"
    type_line 'umount /mnt; e2fsck -n /dev/vda; echo "FSCK-RC-$((1+1)) $?"'
    wait_for_console '^FSCK-RC-2 ' 60 || stop_and_fail "e2fsck did not finish: $(diagnose)"
    type_line 'reboot -f'
    wait_swiftlet
    tr -d '\r' <"$CONSOLE" | sed -n 's/^FIO-OUT-2 //p' >fio.out
    fio_rc=$(tr -d '\r' <"$CONSOLE" | sed -n 's/^FIO-RC-2 //p' | head -n1)
    # terse v3, one line per job: field 5 is the job's error, 49 its write IOPS, 6 the KiB its
    # verify pass read back.
    jobs=$(grep -c '^3;' fio.out)
    failed=$(awk -F';' '/^3;/ && $5 != 0 { n++ } END { print n + 0 }' fio.out)
    # fio's own lines on a failed check: `crc32c: verify failed at file ... offset ...`, then
    # Expected/Received CRC (or `verify: bad magic header ...`); the job's error is then 84.
    verify_errors=$(grep -E 'verify failed|bad magic|bad header|Expected CRC|Received CRC' fio.out | head -n3 | tr '\n' ' ')
    [ -z "$verify_errors" ] || fail "fio reported verify errors: $verify_errors"
    [ "$fio_rc" = 0 ] || fail "fio exited ${fio_rc:-?}: $(grep -v '^3;' fio.out | head -n3 | tr '\n' ' ')"
    [ "$jobs" = "$queues" ] || fail "fio reported $jobs job(s), not $queues: $(head -n3 fio.out | tr '\n' ' ')"
    [ "$failed" = 0 ] || fail "$failed fio job(s) ended with an error: $(awk -F';' '/^3;/ { printf "%s error %s; ", $3, $5 }' fio.out)"
    note "$(awk -F';' '/^3;/ { w += $49; r += $6 } END { printf "%.0f write IOPS, %.1f MiB verified", w, r / 1024 }' fio.out)"
    verified=$(awk -F';' '/^3;/ { r += $6 } END { print (r > 0) }' fio.out)
    [ "$verified" = 1 ] || fail "fio read nothing back to verify: $(head -n1 fio.out)"
    fsck_rc=$(tr -d '\r' <"$CONSOLE" | sed -n 's/^FSCK-RC-2 //p' | head -n1)
    [ "$fsck_rc" = 0 ] || fail "e2fsck -n exited ${fsck_rc:-?}: $(tr -d '\r' <"$CONSOLE" | grep -A4 'e2fsck -n' | tail -n4 | tr '\n' ' ')"
    note "e2fsck -n clean"
    expect_clean_exit
}
