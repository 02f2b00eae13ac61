# bench-boot-microvm: the guest's boot to init under QEMU's `-M microvm` (qboot firmware, no PCI),
# for `scripts/bench.sh --linux`, as a second reference beside `--vmm qemu`, whose
# scripts/lib/qemu-as-swiftlet.sh uses `-M pc` (SeaBIOS). Needs qemu-system-x86_64 where the
# scenarios run, so it runs only with `scripts/testbed.sh --vmm qemu`, through the same
# scripts/lib/qemu-as-swiftlet.sh with QEMU_MACHINE=microvm; elsewhere it does nothing and
# says so in its note.
# The guest is the same as linux-boot's (kernel, initramfs, command line, memory), plus reboot=t:
# microvm has no i8042, so the usual reboot=k would first spend about a second polling a
# keyboard controller that is not there before falling back to a triple fault. With -no-reboot
# the triple fault ends QEMU with status 0, like Swiftlet's exit on the guest's reset.
scenario_bench_boot_microvm() {
    # Only when the VMM under test is scripts/lib/qemu-as-swiftlet.sh (`--vmm qemu`), which
    # takes the machine type from QEMU_MACHINE.
    case $(head -n 3 "$SWIFTLET" 2>/dev/null) in
    *"stand-in for \`swiftlet run\` built on QEMU"*) ;;
    *)
        note "not run: the VMM under test is not QEMU (scripts/testbed.sh --vmm qemu)"
        return 0
        ;;
    esac
    export QEMU_MACHINE=microvm
    TESTBED_L2_CMDLINE_EXTRA="${TESTBED_L2_CMDLINE_EXTRA:-} reboot=t"
    run_swiftlet boot
    note_init_time
    expect_marker "init reached"
    expect_clean_exit
}
