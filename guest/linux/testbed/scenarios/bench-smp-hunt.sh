# bench-smp-hunt: a search for the intermittent 4-vCPU bring-up hang (issue 10, docs/testbed.md),
# not a test: `scripts/testbed.sh bench-smp-hunt` (its L1 gets 4 vCPUs, as for every bench-smp-*
# scenario). Boots the 4-vCPU guest to init eight times. A boot that has not reached init after
# 150 s is snapshotted, and the state file goes to the console as SMP-HUNT-DUMP lines, which
# scripts/bench/tools/vcpu-dump.py turns into each vCPU's MP state, RIP and local APIC. The
# guest runs with nokaslr so that the RIPs match the kernel's System.map.
scenario_bench_smp_hunt() {
    ok=0 hung=0
    TESTBED_L2_CMDLINE_EXTRA="${TESTBED_L2_CMDLINE_EXTRA:-} nokaslr"
    for i in 1 2 3 4 5 6 7 8; do
        rm -f api.sock vm.state vm.mem
        start_swiftlet boot --cpus 4 --api-sock "$SCENARIO_DIR/api.sock"
        if wait_for_console '^SWIFTLET-GUEST: init reached' 150; then
            ok=$((ok + 1))
            wait_swiftlet
            echo "SMP-HUNT boot $i reached init"
        else
            hung=$((hung + 1))
            echo "SMP-HUNT boot $i HUNG; the console's last lines:"
            tr -d '\r' <"$CONSOLE" | tail -n 8 | sed 's/^/SMP-HUNT-CONSOLE /'
            if "$SWIFTLET" snapshot --api-sock "$SCENARIO_DIR/api.sock" --state vm.state --mem-file vm.mem >snapshot.out 2>&1; then
                echo "SMP-HUNT-DUMP-BEGIN $i"
                base64 vm.state | sed 's/^/SMP-HUNT-DUMP /'
                echo "SMP-HUNT-DUMP-END $i"
            else
                sed 's/^/SMP-HUNT snapshot failed: /' snapshot.out
            fi
            kill_swiftlet TERM
        fi
    done
    note "$ok boots reached init, $hung hung"
}
