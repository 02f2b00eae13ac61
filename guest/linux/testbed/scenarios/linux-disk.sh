# linux-disk: Debian's stock virtio_pci and virtio_blk drive Swiftlet's disks.
#   - The guest mounts /dev/vda, reads the file the host put there, writes a new one and syncs;
#     after Swiftlet exits, the host reads that file back from the image with debugfs (no mount).
#   - A second disk given with ,ro is read-only in the guest and a write to it fails.
#   - Durability: the guest writes and syncs, Swiftlet is killed with SIGKILL, the data is in
#     the image.
scenario_linux_disk() {
    command -v debugfs >/dev/null || fail "debugfs is missing (e2fsprogs)"
    cp "$(guest_disk)" disk.img && cp "$(guest_disk)" readonly.img || fail "cannot copy the disk image"
    start_swiftlet shell --disk "$SCENARIO_DIR/disk.img" --disk "$SCENARIO_DIR/readonly.img,ro"
    shell_prompt_or_fail
    note_init_time
    type_line 'mount -t ext4 /dev/vda /mnt && cat /mnt/swiftlet-disk.txt'
    wait_for_console '^swiftlet disk image' 30 || stop_and_fail "the host's file on /dev/vda was not readable"
    type_line 'echo "written by the guest $((6*7))" >/mnt/from-guest.txt && sync && echo "WRITE $((1+1)) DONE"'
    wait_for_console '^WRITE 2 DONE$' 30 || stop_and_fail "writing /mnt/from-guest.txt failed"
    type_line 'echo "vdb ro=$(cat /sys/block/vdb/ro)"; (echo junk >/dev/vdb) 2>/dev/null && echo "RO WRITE ACCEPTED" || echo "RO WRITE $((2+2)) REFUSED"'
    wait_for_console '^RO WRITE (4 REFUSED|ACCEPTED)$' 30 || stop_and_fail "no answer from the read-only write"
    console_has '^vdb ro=1$' || stop_and_fail "/dev/vdb is not read-only in the guest"
    console_has '^RO WRITE 4 REFUSED$' || stop_and_fail "the guest could write to the read-only disk"
    type_line 'umount /mnt; reboot -f'
    wait_swiftlet
    expect_clean_exit
    debugfs -R 'cat /from-guest.txt' disk.img 2>/dev/null | grep -q '^written by the guest 42$' ||
        fail "the guest's file is not in the image after Swiftlet exited"
    cmp -s readonly.img "$(guest_disk)" || fail "the read-only image changed"

    # Durability: after sync the data must be in the file even if Swiftlet dies at once.
    cp "$(guest_disk)" durable.img || fail "cannot copy the disk image"
    start_swiftlet shell --disk "$SCENARIO_DIR/durable.img"
    shell_prompt_or_fail
    type_line 'mount -t ext4 /dev/vda /mnt && echo "durable $((5*5))" >/mnt/durable.txt && sync && echo "SYNCED $((3+3))"'
    wait_for_console '^SYNCED 6$' 30 || stop_and_fail "writing /mnt/durable.txt failed"
    kill_swiftlet KILL
    debugfs -R 'cat /durable.txt' durable.img 2>/dev/null | grep -q '^durable 25$' ||
        fail "synced data was lost when Swiftlet was killed"
    note "SIGKILL after sync kept the data"
}
