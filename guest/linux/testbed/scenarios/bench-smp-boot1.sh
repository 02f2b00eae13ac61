# bench-smp-boot1: linux-boot's guest with 1 vCPU in a 4-vCPU L1, the reference for
# bench-smp-boot4 (`scripts/bench.sh --linux`, issue 10).
scenario_bench_smp_boot1() { bench_smp_boot 1; }
