# linux-vsock: Debian's stock vsock modules drive Swiftlet's virtio-vsock, with Firecracker's
# Unix-socket model on the host side and guest/vsock-echo at both ends.
#   - Host to guest: a host program connects through uds_path with "CONNECT 52" to the guest's
#     echo listener on port 52; 16 MiB come back unchanged.
#   - Guest to host: the guest connects to CID 2, port 1234, which Swiftlet relays to a host
#     echo listener on uds_path_1234; 16 MiB come back unchanged.
# Whether Swiftlet still runs, and its last words (diagnose assumes it has exited).
vmm_state() {
    if kill -0 "$SWIFTLET_PID" 2>/dev/null; then printf 'swiftlet still running'; else printf 'swiftlet died'; fi
    printf '; stderr: %s' "$(tail -n 3 "$SWIFTLET_ERR" | tr '\n' ' ')"
}

scenario_linux_vsock() {
    tool="$TESTBED_IMAGES/vsock-echo"
    [ -x "$tool" ] || fail "no $tool (scripts/build-guest.sh builds it)"
    uds="$SCENARIO_DIR/v.sock"
    "$tool" uds-echo "${uds}_1234" 2>host-echo.err &
    host_echo=$!
    trap 'kill "$host_echo" 2>/dev/null' EXIT
    start_swiftlet shell --vsock "cid=3,uds=$uds"
    shell_prompt_or_fail
    note_init_time
    type_line 'vsock-echo listen 52 & sleep 1; echo "LISTENING $((50+2))"'
    wait_for_console '^LISTENING 52$' 30 || stop_and_fail "the guest's echo listener did not start: $(diagnose)"

    head -c 16777216 /dev/urandom >to-guest.bin || stop_and_fail "cannot make the test data"
    inbound_started=$(now)
    timeout 120 "$tool" uds-connect "$uds" 52 <to-guest.bin >from-guest.bin 2>uds-connect.err ||
        stop_and_fail "host to guest through $uds failed after $(wc -c <from-guest.bin) bytes back: $(cat uds-connect.err); $(vmm_state)"
    cmp -s to-guest.bin from-guest.bin ||
        stop_and_fail "the guest's echo of 16 MiB differs ($(wc -c <from-guest.bin) bytes came back)"
    note "16 MiB host->guest echo $(seconds_between "$inbound_started" "$(now)") s"

    outbound_started=$(now)
    type_line 'head -c 16777216 /dev/urandom >/tmp/out.bin && vsock-echo connect 2 1234 </tmp/out.bin >/tmp/back.bin; cmp /tmp/out.bin /tmp/back.bin && echo "VSOCK OUT $((1+1)) SAME" || echo "VSOCK OUT DIFFERENT $(wc -c </tmp/back.bin)"'
    wait_for_console '^VSOCK OUT (2 SAME|DIFFERENT)' 150 || stop_and_fail "the guest's connection to host port 1234 did not finish: $(diagnose)"
    console_has '^VSOCK OUT 2 SAME$' || stop_and_fail "the host's echo of 16 MiB differs in the guest: $(tr -d '\r' <"$CONSOLE" | grep -m1 '^VSOCK OUT')"
    note "16 MiB guest->host echo $(seconds_between "$outbound_started" "$(now)") s"

    type_line 'reboot -f'
    wait_swiftlet
    expect_clean_exit
}
