# linux-diff-snapshot: Firecracker's diff snapshots on the Debian guest. Boots over the API with
# `track_dirty_pages`, takes a Full base snapshot at the shell prompt, lets the guest write
# 16 MiB of random data to a file in its initramfs (RAM), then pauses and takes a Diff followed by a Full at the
# same pause point. `swiftlet snapshot-rebase` merges the diff onto a copy of the base, which
# must then equal the second Full byte for byte. Notes the create times and the diff's size.
# A KVM without dirty logging must refuse InstanceStart with the error naming the feature; the
# scenario then passes with a note saying so.
diff_request() { # METHOD PATH JSON: one API request; prints the HTTP status, the body in curl.out
    curl -s -o "$SCENARIO_DIR/curl.out" -w '%{http_code}' --max-time 120 --unix-socket "$api" \
        -X "$1" -H 'Content-Type: application/json' -d "$3" "http://localhost$2" || echo "curl-failed"
}

diff_request_ok() { # METHOD PATH JSON
    code=$(diff_request "$1" "$2" "$3")
    [ "$code" = 204 ] || stop_and_fail "$1 $2 answered $code: $(cat "$SCENARIO_DIR/curl.out" 2>/dev/null)"
}

diff_put_ok() { diff_request_ok PUT "$1" "$2"; }
diff_vm_state() { diff_request_ok PATCH /vm "{\"state\": \"$1\"}"; }

# One snapshot/create of TYPE into STATE and MEM; sets snapshot_ms to the milliseconds it took.
# Not run in a command substitution: a failure's message would be captured with the figure.
diff_snapshot() { # TYPE STATE MEM
    t0=$(now)
    diff_put_ok /snapshot/create "{\"snapshot_type\": \"$1\", \"snapshot_path\": \"$SCENARIO_DIR/$2\", \"mem_file_path\": \"$SCENARIO_DIR/$3\"}"
    snapshot_ms=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%d", (b - a) * 1000 }')
}

allocated_mib() { du -m "$1" | cut -f1; }

scenario_linux_diff_snapshot() {
    # 1 GiB, the guest size issue 14 compares full and diff snapshots at: a Full scans all of
    # it, a Diff only the pages dirtied.
    TESTBED_L2_MEMORY=1024
    command -v curl >/dev/null || fail "curl is missing in L1"
    api="$SCENARIO_DIR/api.sock"
    launch_swiftlet "$CONSOLE_NAME" "$ERR_NAME" run --api-sock "$api"
    for _ in $(seq 50); do [ -S "$api" ] && break; sleep 0.1; done
    [ -S "$api" ] || stop_and_fail "no API socket: $(diagnose)"
    diff_put_ok /boot-source "{\"kernel_image_path\": \"$(guest_kernel)\", \"initrd_path\": \"$(guest_initramfs)\", \"boot_args\": \"$(guest_cmdline shell)\"}"
    diff_put_ok /machine-config "{\"vcpu_count\": 1, \"mem_size_mib\": $TESTBED_L2_MEMORY, \"track_dirty_pages\": true}"
    code=$(diff_request PUT /actions '{"action_type": "InstanceStart"}')
    if [ "$code" = 400 ]; then
        grep -q 'dirty page tracking (track_dirty_pages) is unavailable: /dev/kvm refused KVM_MEM_LOG_DIRTY_PAGES' "$SCENARIO_DIR/curl.out" ||
            stop_and_fail "InstanceStart refused without naming dirty page tracking: $(cat "$SCENARIO_DIR/curl.out")"
        kill_swiftlet TERM
        note "KVM refused dirty logging, as expected on such a host: $(cat "$SCENARIO_DIR/curl.out")"
        return 0
    fi
    [ "$code" = 204 ] || stop_and_fail "InstanceStart answered $code: $(cat "$SCENARIO_DIR/curl.out")"
    shell_prompt_or_fail
    note_init_time

    diff_vm_state Paused
    diff_snapshot Full base.state base.mem
    base_ms=$snapshot_ms
    diff_vm_state Resumed
    type_line 'dd if=/dev/urandom of=/dirty.bin bs=1M count=16 2>/dev/null; sync; echo DIRTIED-$((4*4))'
    wait_for_console '^DIRTIED-16$' 120 || stop_and_fail "the guest did not write its 16 MiB: $(diagnose)"
    diff_vm_state Paused
    diff_snapshot Diff diff.state diff.mem
    diff_ms=$snapshot_ms
    diff_snapshot Full full.state full.mem
    full_ms=$snapshot_ms
    kill_swiftlet TERM

    [ "$(wc -c <diff.mem)" = "$(wc -c <full.mem)" ] || fail "the diff's size $(wc -c <diff.mem) is not guest RAM's $(wc -c <full.mem)"
    diff_mib=$(allocated_mib diff.mem)
    [ "$diff_mib" -ge 16 ] || fail "the diff holds only $diff_mib MiB; the guest wrote 16"
    base_mib=$(allocated_mib base.mem)
    # Onto the base itself, not a copy: busybox's cp writes a sparse file's holes out as zeros,
    # and a 1 GiB copy in L1's tmpfs (RAM) next to the guest left L1 out of memory.
    "$SWIFTLET" snapshot-rebase --base-file "$SCENARIO_DIR/base.mem" --diff-file "$SCENARIO_DIR/diff.mem" >rebase.out 2>&1 ||
        fail "snapshot-rebase failed: $(cat rebase.out)"
    cmp base.mem full.mem >cmp.out 2>&1 || fail "base + diff differs from the full snapshot: $(head -c 200 cmp.out)"
    note "guest RAM ${TESTBED_L2_MEMORY} MiB; create: base full ${base_ms} ms, diff ${diff_ms} ms, full ${full_ms} ms; allocated: base ${base_mib} MiB, diff ${diff_mib} MiB, full $(allocated_mib full.mem) MiB; base + diff = full"
}
