# bench-smp-boot4: linux-boot's guest with 4 vCPUs (`scripts/bench.sh --linux`, issue 10),
# against QEMU -smp 4 in the same run.
scenario_bench_smp_boot4() { bench_smp_boot 4; }
