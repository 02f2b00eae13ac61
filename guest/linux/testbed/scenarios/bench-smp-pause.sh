# bench-smp-pause: pause + resume round trips with 4 busy vCPUs, for `scripts/bench.sh --linux`
# (issue 10). The guest runs one busy loop pinned to each of its 4 CPUs; pause-rtt
# (scripts/bench/tools/pause-rtt.c) then times 20 round trips over one open control connection:
# PATCH /vm Paused + Resumed to Swiftlet, QMP stop + cont to QEMU (scripts/lib/qemu-as-swiftlet.sh
# gives QEMU its QMP socket at --api-sock). The note carries the median.
scenario_bench_smp_pause() {
    protocol=http
    case $(head -n 3 "$SWIFTLET" 2>/dev/null) in *"stand-in for \`swiftlet run\` built on QEMU"*) protocol=qmp ;; esac
    command -v pause-rtt >/dev/null || fail "pause-rtt is missing in L1"
    api="$SCENARIO_DIR/api.sock"
    start_swiftlet shell --cpus 4 --api-sock "$api"
    shell_prompt_or_fail
    type_line 'for m in 1 2 4 8; do taskset $m sh -c "while :; do :; done" & done; sleep 1; echo "busy $((2*2))"'
    wait_for_console '^busy 4$' 60 || stop_and_fail "the busy loops did not start: $(diagnose)"
    pause-rtt "$protocol" "$api" 20 >rtt.out 2>&1 || stop_and_fail "pause-rtt failed: $(tail -n1 rtt.out)"
    median=$(sed -n 's/^median \([0-9.]*\) ms$/\1/p' rtt.out)
    [ -n "$median" ] || stop_and_fail "no median from pause-rtt: $(tail -n1 rtt.out)"
    type_line 'echo "alive $((3*3))"'
    wait_for_console '^alive 9$' 60 || stop_and_fail "the guest did not answer after the round trips: $(diagnose)"
    type_line 'reboot -f'
    wait_swiftlet
    expect_clean_exit
    note "pause+resume median $median ms over 20 round trips ($protocol)"
}
