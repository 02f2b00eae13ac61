# linux-drive-swap: `PATCH /drives/{id}` on a running guest (issue 12), the way Kata Containers
# swaps a placeholder drive for a container's image. The drive sits on virtio-mmio (Kata's
# transport). Before the swap the guest sees the 8 MiB image A; after it, without a reboot, its
# kernel has read the new capacity from the configuration interrupt and the guest reads image B's
# first bytes; a write after the swap lands in B and not in A, and a discard punches a hole in B.
scenario_linux_drive_swap() {
    make_image() { # FILE MIB TEXT
        dd if=/dev/zero of="$1" bs=1M count="$2" 2>/dev/null || fail "cannot create $1"
        printf '%s' "$3" | dd of="$1" conv=notrunc 2>/dev/null || fail "cannot label $1"
    }
    make_image "$SCENARIO_DIR/image-a.img" 8 "swiftlet image A"
    make_image "$SCENARIO_DIR/image-b.img" 16 "swiftlet image B"
    api="$SCENARIO_DIR/api.sock"
    start_swiftlet shell --transport mmio --api-sock "$api" --disk "$SCENARIO_DIR/image-a.img,id=data"
    shell_prompt_or_fail
    note_init_time
    # 16 bytes from the device itself: each `head` opens and closes /dev/vda, and the last close
    # drops the device's page cache, so no read can come from the old image's cached blocks.
    # dmesg -n 1: the kernel's "new size" line must not land in the middle of an answer.
    type_line 'dmesg -n 1; for i in $(seq 100); do [ -b /dev/vda ] && break; usleep 100000; done; echo "before: $(cat /sys/block/vda/size) $(head -c 16 /dev/vda)"'
    wait_for_console '^before: [0-9]+ ' 60 || stop_and_fail "the guest did not report its disk: $(diagnose)"
    console_has '^before: 16384 swiftlet image A$' ||
        stop_and_fail "before the swap: $(tr -d '\r' <"$CONSOLE" | grep -m1 '^before:')"

    code=$(curl -s -o "$SCENARIO_DIR/curl.out" -w '%{http_code}' --max-time 30 --unix-socket "$api" -X PATCH \
        -H 'Content-Type: application/json' -d "{\"drive_id\": \"data\", \"path_on_host\": \"$SCENARIO_DIR/image-b.img\"}" \
        http://localhost/drives/data) || code="curl failed"
    [ "$code" = 204 ] || stop_and_fail "PATCH /drives/data answered $code: $(cat "$SCENARIO_DIR/curl.out" 2>/dev/null)"
    swapped=$(now)

    # The kernel updates the size in a work item after the interrupt: wait for it in the guest.
    type_line 'for i in $(seq 100); do [ "$(cat /sys/block/vda/size)" != 16384 ] && break; usleep 100000; done; echo "after: $(cat /sys/block/vda/size) $(head -c 16 /dev/vda)"'
    wait_for_console '^after: [0-9]+ ' 60 || stop_and_fail "no answer after the swap: $(diagnose)"
    console_has '^after: 32768 swiftlet image B$' ||
        stop_and_fail "after the swap: $(tr -d '\r' <"$CONSOLE" | grep -m1 '^after:') (expected 32768 sectors of image B)"
    seen=$(seconds_between "$swapped" "$(now)")
    type_line 'printf "written after the swap" | dd of=/dev/vda bs=512 seek=1 conv=fsync 2>/dev/null; echo "write status $?"'
    wait_for_console '^write status [0-9]+$' 60 || stop_and_fail "no answer to the write: $(diagnose)"
    console_has '^write status 0$' || stop_and_fail "the guest's write to the new image failed"
    # Discard (blkdiscard) reaches the image as a punched hole: 4 MiB of it stop using space.
    type_line 'busybox blkdiscard -o 8388608 -l 4194304 /dev/vda; echo "discard status $?"'
    wait_for_console '^discard status [0-9]+$' 60 || stop_and_fail "no answer to the discard: $(diagnose)"
    console_has '^discard status 0$' || stop_and_fail "the guest's discard failed: $(tr -d '\r' <"$CONSOLE" | grep -m1 '^discard status')"
    type_line 'reboot -f'
    wait_swiftlet
    expect_clean_exit
    used=$(du -k "$SCENARIO_DIR/image-b.img" | cut -f1)
    [ "$used" -le 12544 ] || fail "image B still uses $used KiB after 4 of its 16 MiB were discarded"
    [ "$(dd if="$SCENARIO_DIR/image-b.img" bs=512 skip=1 count=1 2>/dev/null | head -c 22)" = "written after the swap" ] ||
        fail "the guest's write did not land in image B"
    [ -z "$(dd if="$SCENARIO_DIR/image-a.img" bs=512 skip=1 count=1 2>/dev/null | tr -d '\0')" ] ||
        fail "image A was written after it was swapped out"
    note "capacity 16384 -> 32768 sectors and image B's bytes seen $seen s after the PATCH answered; image B uses $used KiB after the discard"
}
