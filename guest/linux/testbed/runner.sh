#!/bin/sh
# Runs testbed scenarios with Swiftlet and prints one result line each:
#   TESTBED <scenario>: ok (<details>)
#   TESTBED <scenario>: FAIL <reason> (<details>)
# then `TESTBED summary: N ok, M failed`. Exits 1 if any scenario failed.
# Runs inside the nested testbed's L1 (started by its init) and directly on a host with real
# VMX/SVM (started by scripts/testbed.sh). Settings: see lib.sh.
#
#   runner.sh SCENARIO...       run scenarios (names: files in scenarios/)
#   runner.sh --list            list the test scenarios (the default set; bench-* are left out)
#   runner.sh --list-all        list every scenario, benchmark ones included
#   runner.sh --interactive     boot the default guest's shell on this terminal

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
for file in "$here"/scenarios/*.sh; do
    . "$file"
done

scenario_function() { printf 'scenario_%s\n' "$1" | tr '-' '_'; }

case ${1:-} in
--list | --list-all)
    # bench-* scenarios measure rather than test; scripts/bench.sh --linux runs them by name.
    for file in "$here"/scenarios/*.sh; do
        name=$(basename "$file" .sh)
        case $1-$name in --list-bench-*) ;; *) echo "$name" ;; esac
    done
    exit 0
    ;;
--interactive)
    # The shell with the disk attached and mounted; a copy of the image, so that what the user
    # writes never changes the cached one. `quiet`: the README, not the kernel's log, greets them.
    mkdir -p "$TESTBED_WORK"
    cp "$(guest_disk)" "$TESTBED_WORK/welcome-disk.img" || exit 1
    # The network too, on a tap this runner creates (always in L1, which runs as root; directly
    # on a host only as root and when the tap is not there yet), removed again at the end.
    network=
    if create_tap 2>"$TESTBED_WORK/tap.err"; then
        network="--net tap=$TESTBED_TAP"
        TESTBED_L2_CMDLINE_EXTRA="${TESTBED_L2_CMDLINE_EXTRA:-} $(guest_network_words)"
    else
        echo "runner.sh: the guest gets no network: cannot create the tap $TESTBED_TAP: $(cat "$TESTBED_WORK/tap.err")" >&2
    fi
    # shellcheck disable=SC2086
    "$SWIFTLET" run --kernel "$(guest_kernel)" --initrd "$(guest_initramfs)" \
        --memory "$TESTBED_L2_MEMORY" --cmdline "$(guest_cmdline welcome) quiet loglevel=3" \
        --disk "$TESTBED_WORK/welcome-disk.img" $network
    status=$?
    [ -n "$network" ] && remove_tap
    exit $status
    ;;
"" | -*)
    echo "usage: runner.sh SCENARIO... | --list | --interactive" >&2
    exit 2
    ;;
esac

passed=0
failed=0
for name in "$@"; do
    SCENARIO_DIR="$TESTBED_WORK/$name"
    rm -rf "$SCENARIO_DIR"
    mkdir -p "$SCENARIO_DIR"
    function=$(scenario_function "$name")
    started=$(now)
    kvm_trace_start
    if ! command -v "$function" >/dev/null 2>&1; then
        echo "no such scenario" >"$SCENARIO_DIR/reason"
        false
    else
        (cd "$SCENARIO_DIR" && "$function")
    fi
    rc=$?
    details="$(seconds_between "$started" "$(now)") s"
    npf_note=$(kvm_trace_note_npf)
    [ -z "$npf_note" ] || details="$details; $npf_note"
    if [ -f "$SCENARIO_DIR/notes" ]; then
        while read -r line; do details="$details; $line"; done <"$SCENARIO_DIR/notes"
    fi
    if [ $rc = 0 ]; then
        echo "TESTBED $name: ok ($details)"
        passed=$((passed + 1))
    else
        reason=$(cat "$SCENARIO_DIR/reason" 2>/dev/null)
        echo "TESTBED $name: FAIL ${reason:-scenario exited $rc without a reason} ($details)"
        failed=$((failed + 1))
        # The evidence, marked so the host can show it without the rest of L1's console.
        for log in "$SCENARIO_DIR/swiftlet.err" "$SCENARIO_DIR/console.log"; do
            [ -s "$log" ] || continue
            echo "TESTBED-LOG $name $(basename "$log") (last 30 lines):"
            # awk ends every line, so a log cut mid-line cannot swallow the next result line.
            tr -d '\r' <"$log" | tail -n 30 | awk '{ print "TESTBED-LOG | " $0 }'
        done
        kvm_trace_dump "$name"
    fi
done
echo "TESTBED summary: $passed ok, $failed failed"
[ $failed = 0 ]
