# bench-boot-microvm: the guest's boot to init under QEMU's `-M microvm` (qboot firmware, no PCI),
# for `scripts/bench.sh --linux`, as a second reference beside `--vmm qemu`, whose
# scripts/lib/qemu-as-swiftlet.sh uses `-M pc` (SeaBIOS). Needs qemu-system-x86_64 where the
# scenarios run, so within the nested testbed only with `scripts/testbed.sh --vmm qemu`;
# elsewhere it does nothing and says so in its note.
# The guest is the same as linux-boot's (kernel, initramfs, command line, memory), plus reboot=t:
# microvm has no i8042, so the usual reboot=k would first spend about a second polling a
# keyboard controller that is not there before falling back to a triple fault. With -no-reboot
# the triple fault ends QEMU with status 0, like Swiftlet's exit on the guest's reset.
scenario_bench_boot_microvm() {
    if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
        note "not run: no qemu-system-x86_64 here (in the nested testbed: scripts/testbed.sh --vmm qemu)"
        return 0
    fi
    # A `swiftlet run` look-alike for run_swiftlet, taking the options it passes.
    cat >qemu-microvm <<'WRAPPER'
#!/bin/sh
shift
while [ $# -gt 0 ]; do
    case $1 in
    --kernel) kernel=$2 ;;
    --initrd) initrd=$2 ;;
    --cmdline) cmdline=$2 ;;
    --memory) memory=$2 ;;
    *) echo "qemu-microvm: unsupported option $1" >&2; exit 2 ;;
    esac
    shift 2
done
accel=tcg
[ -w /dev/kvm ] && [ ! -e /sys/module/kvm_pvm ] && grep -qw -e vmx -e svm /proc/cpuinfo && accel=kvm
exec qemu-system-x86_64 -M microvm -accel "$accel" -m "$memory" -smp 1 -display none -monitor none \
    -serial stdio -no-reboot -nodefaults -kernel "$kernel" -initrd "$initrd" -append "$cmdline"
WRAPPER
    chmod +x qemu-microvm || fail "cannot write the QEMU wrapper"
    SWIFTLET="$SCENARIO_DIR/qemu-microvm"
    TESTBED_L2_CMDLINE_EXTRA="${TESTBED_L2_CMDLINE_EXTRA:-} reboot=t"
    run_swiftlet boot
    note_init_time
    expect_marker "init reached"
    expect_clean_exit
}
