# linux-firecracker: Firecracker's getting-started flow with curl, Swiftlet started as
# `firecracker` through a symlink (issue 12). The requests are the ones a Firecracker launcher
# sends: logger, metrics, boot source with `pci=off`, a root drive, machine config, InstanceStart.
# With PCI off the Debian guest can only find its disk over virtio-mmio, and its kernel has no
# command-line virtio-mmio devices, so the disk is found through the DSDT's LNRO0005 device.
# Afterwards the logger and metrics files must hold well-formed lines. Then the same guest boots
# from a config file with `--no-api`.
fc_put() { # PATH JSON: one API request; fails the scenario unless Firecracker's 204 comes back
    code=$(curl -s -o "$SCENARIO_DIR/curl.out" -w '%{http_code}' --max-time 30 --unix-socket "$api" \
        -X PUT -H 'Content-Type: application/json' -d "$2" "http://localhost$1") || code="curl failed"
    [ "$code" = 204 ] || stop_and_fail "PUT $1 answered $code: $(cat "$SCENARIO_DIR/curl.out" 2>/dev/null)"
}

scenario_linux_firecracker() {
    command -v curl >/dev/null || fail "curl is missing in L1"
    cp "$(guest_disk)" rootfs.ext4 || fail "cannot copy the disk image"
    ln -sf "$SWIFTLET" "$SCENARIO_DIR/firecracker"
    api="$SCENARIO_DIR/firecracker.sock"
    CONSOLE="$SCENARIO_DIR/$CONSOLE_NAME"
    SWIFTLET_ERR="$SCENARIO_DIR/$ERR_NAME"
    : >"$CONSOLE"
    started=$(now)
    timeout "$TESTBED_SCENARIO_TIMEOUT" "$SCENARIO_DIR/firecracker" --api-sock "$api" --id testbed \
        </dev/null >"$CONSOLE" 2>"$SWIFTLET_ERR" &
    SWIFTLET_PID=$!
    for _ in $(seq 50); do [ -S "$api" ] && break; sleep 0.1; done
    [ -S "$api" ] || stop_and_fail "no API socket: $(diagnose)"

    fc_put /logger "{\"log_path\": \"$SCENARIO_DIR/fc.log\", \"level\": \"Info\", \"show_level\": true, \"show_log_origin\": true}"
    fc_put /metrics "{\"metrics_path\": \"$SCENARIO_DIR/fc.metrics\"}"
    fc_put /boot-source "{\"kernel_image_path\": \"$(guest_kernel)\", \"initrd_path\": \"$(guest_initramfs)\",
        \"boot_args\": \"console=ttyS0 reboot=k panic=1 pci=off swiftlet.test=disk\"}"
    fc_put /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$SCENARIO_DIR/rootfs.ext4\",
        \"is_root_device\": true, \"is_read_only\": false}"
    fc_put /machine-config '{"vcpu_count": 1, "mem_size_mib": 256}'
    fc_put /actions '{"action_type": "InstanceStart"}'
    wait_swiftlet_exit
    note_init_time
    expect_marker "disk mounted: swiftlet disk image"
    console_has '^SWIFTLET-GUEST: disk at /sys/devices/platform/LNRO0005:[0-9a-f]*/virtio[0-9]*/block/vda$' ||
        fail "the disk was not found through the DSDT's virtio-mmio device: $(tr -d '\r' <"$CONSOLE" | grep -m1 'disk at' || echo 'no disk line')"
    console_has 'root=/dev/vda rw' || fail "is_root_device did not add root=/dev/vda rw to the command line"
    expect_clean_exit

    [ -s "$SCENARIO_DIR/fc.log" ] || fail "the logger file is empty"
    # swift-log's stream format: time, level, label, then the message.
    line_format='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{4} (trace|debug|info|notice|warning|error|critical) [^ ]+ ?: '
    bad=$(grep -c -v -E "$line_format" "$SCENARIO_DIR/fc.log")
    [ "$bad" = 0 ] || fail "$bad malformed logger lines, e.g. $(grep -m1 -v -E "$line_format" "$SCENARIO_DIR/fc.log")"
    [ -s "$SCENARIO_DIR/fc.metrics" ] || fail "the metrics file is empty"
    bad=$(grep -c -v -E '^\{"utc_timestamp_ms":[0-9]+,.*\}$' "$SCENARIO_DIR/fc.metrics")
    [ "$bad" = 0 ] || fail "$bad malformed metrics lines"
    note "$(wc -l <"$SCENARIO_DIR/fc.log") logger lines, $(wc -l <"$SCENARIO_DIR/fc.metrics") metrics lines"

    # The same guest once more with no API at all: `firecracker --no-api --config-file`, which
    # launchers use for a VM configured up front.
    cat >"$SCENARIO_DIR/vm.json" <<JSON || fail "cannot write the config file"
{
  "boot-source": {"kernel_image_path": "$(guest_kernel)", "initrd_path": "$(guest_initramfs)",
                  "boot_args": "console=ttyS0 reboot=k panic=1 pci=off swiftlet.test=disk"},
  "drives": [{"drive_id": "rootfs", "path_on_host": "$SCENARIO_DIR/rootfs.ext4", "is_root_device": true, "is_read_only": false}],
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 256}
}
JSON
    CONSOLE="$SCENARIO_DIR/no-api.console"
    SWIFTLET_ERR="$SCENARIO_DIR/no-api.err"
    started=$(now)
    timeout "$TESTBED_SCENARIO_TIMEOUT" "$SCENARIO_DIR/firecracker" --no-api --config-file "$SCENARIO_DIR/vm.json" \
        </dev/null >"$CONSOLE" 2>"$SWIFTLET_ERR"
    SWIFTLET_RC=$?
    finish_timing "$started"
    console_has '^SWIFTLET-GUEST: disk mounted: swiftlet disk image' || fail "with --no-api the guest did not mount its disk: $(diagnose)"
    expect_clean_exit
    [ -e "/run/firecracker.socket" ] && fail "--no-api still created the default API socket"
    note "--no-api --config-file booted the same guest"
}

# Waits for the backgrounded Firecracker-mode Swiftlet to end by itself (the guest reboots).
wait_swiftlet_exit() {
    wait "$SWIFTLET_PID"
    SWIFTLET_RC=$?
    finish_timing "$started"
}
