# bench-smp-boot1, bench-smp-boot4: linux-boot's guest with 1 and with 4 vCPUs, in the same
# 4-vCPU L1, for `scripts/bench.sh --linux` (issue 10: boot to init with --cpus 1 and 4 against
# QEMU -smp 1 and 4). The note says how many CPUs the guest brought up, so a run whose APs never
# came online cannot pass for a fast 4-vCPU boot.
bench_smp_boot() { # CPUS
    run_swiftlet boot --cpus "$1"
    note_init_time
    expect_marker "init reached"
    online=$(tr -d '\r' <"$CONSOLE" | grep -m1 -o 'smp: Brought up [0-9]* node[s]*, [0-9]* CPU' | grep -o '[0-9]* CPU$')
    [ "$online" = "$1 CPU" ] || fail "the guest brought up '${online:-no}' CPUs, not $1"
    note "$online online"
    expect_clean_exit
}
scenario_bench_smp_boot1() { bench_smp_boot 1; }
scenario_bench_smp_boot4() { bench_smp_boot 4; }
