# linux-rate-limit: Firecracker's drive `rate_limiter` (issue 12). A config file gives the guest a
# 16 MiB disk limited to 1 MiB/s (a full 1 MiB bucket that refills every second), and the guest
# times reading 8 MiB of it: about 7 s at least (the first MiB comes from the full bucket). Then
# `PATCH /drives` lifts the limit while the guest runs, and the next 8 MiB must come well inside
# that time. Both times are the guest's own clock.
scenario_linux_rate_limit() {
    dd if=/dev/zero of="$SCENARIO_DIR/data.img" bs=1M count=16 2>/dev/null || fail "cannot create the disk image"
    api="$SCENARIO_DIR/api.sock"
    config="$SCENARIO_DIR/vm.json"
    cat >"$config" <<JSON || fail "cannot write the config file"
{
  "boot-source": {"kernel_image_path": "$(guest_kernel)", "initrd_path": "$(guest_initramfs)", "boot_args": "$(guest_cmdline shell)"},
  "drives": [{"drive_id": "data", "path_on_host": "$SCENARIO_DIR/data.img", "is_root_device": false,
              "rate_limiter": {"bandwidth": {"size": 1048576, "refill_time": 1000}}}],
  "machine-config": {"vcpu_count": 1, "mem_size_mib": $TESTBED_L2_MEMORY}
}
JSON
    launch_swiftlet "$CONSOLE_NAME" "$ERR_NAME" run --config-file "$config" --api-sock "$api"
    shell_prompt_or_fail
    note_init_time
    # O_DIRECT is not needed: nothing has read the disk yet, so every block comes from the device.
    # dmesg -n 1 keeps kernel lines out of the answers.
    timed_read='a=$(cut -d" " -f1 /proc/uptime); dd if=/dev/vda of=/dev/null bs=1M count=8 skip=SKIP 2>/dev/null; s=$?; b=$(cut -d" " -f1 /proc/uptime); echo "LABEL read: status $s, $(awk -v a=$a -v b=$b "BEGIN { printf \"%.1f\", b - a }") s"'
    type_line "dmesg -n 1; for i in \$(seq 100); do [ -b /dev/vda ] && break; usleep 100000; done; $(echo "$timed_read" | sed 's/SKIP/0/; s/LABEL/limited/')"
    wait_for_console '^limited read: status [0-9]+, [0-9.]+ s$' 120 || stop_and_fail "no answer from the limited read: $(diagnose)"
    limited=$(tr -d '\r' <"$CONSOLE" | sed -n 's/^limited read: status 0, \([0-9.]*\) s$/\1/p' | head -n1)
    [ -n "$limited" ] || stop_and_fail "the limited read failed: $(tr -d '\r' <"$CONSOLE" | grep -m1 '^limited read')"

    code=$(curl -s -o "$SCENARIO_DIR/curl.out" -w '%{http_code}' --max-time 30 --unix-socket "$api" -X PATCH \
        -H 'Content-Type: application/json' -d '{"drive_id": "data", "rate_limiter": {}}' http://localhost/drives/data) || code="curl failed"
    [ "$code" = 204 ] || stop_and_fail "PATCH /drives/data answered $code: $(cat "$SCENARIO_DIR/curl.out" 2>/dev/null)"
    type_line "$(echo "$timed_read" | sed 's/SKIP/8/; s/LABEL/unlimited/')"
    wait_for_console '^unlimited read: status [0-9]+, [0-9.]+ s$' 120 || stop_and_fail "no answer from the unlimited read: $(diagnose)"
    unlimited=$(tr -d '\r' <"$CONSOLE" | sed -n 's/^unlimited read: status 0, \([0-9.]*\) s$/\1/p' | head -n1)
    [ -n "$unlimited" ] || stop_and_fail "the unlimited read failed: $(tr -d '\r' <"$CONSOLE" | grep -m1 '^unlimited read')"
    type_line 'reboot -f'
    wait_swiftlet
    expect_clean_exit
    note "8 MiB at 1 MiB/s in $limited s, after PATCH lifted the limit in $unlimited s (guest clock)"
    awk -v t="$limited" 'BEGIN { exit !(t >= 6.5) }' || fail "8 MiB limited to 1 MiB/s took only $limited s (at least about 7 s expected)"
    awk -v t="$limited" 'BEGIN { exit !(t <= 30) }' || fail "8 MiB limited to 1 MiB/s took $limited s (the limiter holds requests too long)"
    awk -v t="$unlimited" 'BEGIN { exit !(t < 5) }' || fail "after the limit was lifted 8 MiB still took $unlimited s"
}
