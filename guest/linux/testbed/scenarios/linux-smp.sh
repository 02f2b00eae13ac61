# linux-smp: a guest with --cpus 4 finds its processors in the MADT and starts them with
# INIT/SIPI: nproc says 4, CPUs 0-3 are online, a busy loop pinned to each one makes its user
# time in /proc/stat rise, and the kernel logged no ACPI or APIC error on the way.
scenario_linux_smp() {
    start_swiftlet shell --cpus 4
    shell_prompt_or_fail
    note_init_time
    type_line 'echo "cpus: nproc=$(nproc) online=$(cat /sys/devices/system/cpu/online)"'
    wait_for_console '^cpus: ' 30 || stop_and_fail "no answer from nproc: $(diagnose)"
    console_has '^cpus: nproc=4 online=0-3$' ||
        stop_and_fail "the guest does not use 4 CPUs: $(tr -d '\r' <"$CONSOLE" | grep -m1 '^cpus: ')"

    # One busy loop per CPU (busybox taskset takes a mask), /proc/stat before and 3 s later.
    type_line 'for m in 1 2 4 8; do taskset $m sh -c "while :; do :; done" & done; grep "^cpu[0-9]" /proc/stat | sed "s/^/before /"; sleep 3; grep "^cpu[0-9]" /proc/stat | sed "s/^/after /"'
    wait_for_console '^after cpu3 ' 90 || stop_and_fail "no /proc/stat after the busy loops: $(diagnose)"
    # Field 2 of a cpuN line is its user time in clock ticks.
    rising=$(tr -d '\r' <"$CONSOLE" | awk '
        $1 == "before" { user[$2] = $3 }
        $1 == "after" && ($2 in user) { if ($3 > user[$2]) up = up " " $2; else flat = flat " " $2 }
        END { printf "%s|%s", up, flat }')
    [ "$rising" = " cpu0 cpu1 cpu2 cpu3|" ] || stop_and_fail "user time did not rise on every CPU (rose:flat = $rising)"
    note "user time rose on cpu0-3"

    type_line 'dmesg | grep -E "ACPI Error|ACPI BIOS Error|APIC error|ACPI: .*[Ff]ailed" | sed "s/^/bad: /"; echo dmesg-checked'
    wait_for_console "^dmesg-checked$" 60 || stop_and_fail "no answer from dmesg"
    console_has '^bad: ' && stop_and_fail "the kernel complained: $(tr -d '\r' <"$CONSOLE" | grep -m1 '^bad: ')"
    type_line 'reboot -f'
    wait_swiftlet
    expect_clean_exit
}
