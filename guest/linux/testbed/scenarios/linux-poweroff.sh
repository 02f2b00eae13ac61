# linux-poweroff: `poweroff -f` in the guest writes S5 to the ACPI sleep control register the
# FADT points at; Swiftlet must end within 5 s with status 0 and say "guest powered off".
scenario_linux_poweroff() {
    start_swiftlet shell
    shell_prompt_or_fail
    note_init_time
    type_line 'poweroff -f'
    typed=$(now)
    while kill -0 "$SWIFTLET_PID" 2>/dev/null; do
        awk -v a="$typed" -v b="$(now)" 'BEGIN { exit !(b - a > 5) }' &&
            stop_and_fail "Swiftlet still runs 5 s after poweroff -f: $(diagnose)"
        sleep 0.1
    done
    ended=$(seconds_between "$typed" "$(now)")
    wait_swiftlet
    expect_clean_exit
    grep -q 'guest powered off' "$SWIFTLET_ERR" || fail "Swiftlet did not say 'guest powered off': $(cat "$SWIFTLET_ERR")"
    note "ended ${ended} s after poweroff -f"
}
