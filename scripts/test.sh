#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   0. the set-up (scripts/lib/setup.sh): as root it installs the Debian packages the tests use;
#      it checks Swift and /dev/kvm;
#   1. unit tests and host-KVM integration tests (`swift test`, which boots the tiny test guest
#      on this machine's /dev/kvm), built with warnings treated as errors (SWIFTLET_STRICT=1, see
#      Package.swift);
#   2. the Linux scenarios in the testbed (Debian's kernel under real KVM; see docs/testbed.md);
#   3. as root, the fresh-machine test (scripts/test-fresh-container.sh): the README's commands
#      in a fresh Debian root filesystem with only Swift added.
# Ends with one line `tests: N passed, M failed` over all of them. A test that could not run
# (no root for step 3, a skipped Swift test) is listed as skipped; under CI=true a skip counts as
# a failure, so CI never passes with part of the suite left out.
# Usage: scripts/test.sh [--unit-only]
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/setup.sh"
cd "$REPO_ROOT"

step() { printf '\n==> %s\n' "$*"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
skipped=()

step "set-up"
setup_host test

step "building the tiny test guest"
scripts/build-test-guest.sh | tail -1

# Warnings are errors here (and so in CI), not in a user's plain `swift build`.
export SWIFTLET_STRICT=1
step "building Swiftlet and its tests (warnings as errors)"
swift build --build-tests
# The versions this run built and tested (Package.swift pins the direct ones exactly).
[ -f Package.resolved ] && echo "dependencies: $(sed -n 's/.*"identity" : "\(.*\)",/\1/p; s/.*"version" : "\(.*\)"$/\1,/p' Package.resolved | paste -sd' ' | sed 's/,$//')"

step "unit and host-KVM integration tests"
set +e
# One test at a time: the integration tests start real VMs, and on two cores parallel VMs
# would only race each other for time.
swift test --skip-build --no-parallel 2>&1 | tee "$work/swift-test.log"
unit_status=${PIPESTATUS[0]}
set -e
unit_total=$(sed -n 's/.*Test run with \([0-9]*\) tests\{0,1\} in .*/\1/p' "$work/swift-test.log" | tail -n1)
# "✘ Test run with N tests ... failed after" is the summary, not a test.
unit_failed=$(grep -E '^✘ Test .* failed after' "$work/swift-test.log" | grep -cv '^✘ Test run with' || true)
unit_total=${unit_total:-0}
# Swift Testing reports a test that was not run (.enabled(if:), .disabled) as skipped, and
# counts it in "Test run with N tests": it neither passed nor failed.
unit_skipped=0
while read -r name; do
    skipped+=("swift test: $name")
    unit_skipped=$((unit_skipped + 1))
done < <(sed -n 's/^.* Test \(.*\) skipped: \(.*\)/\1 (\2)/p' "$work/swift-test.log")
passed=$((unit_total - unit_failed - unit_skipped))
failed=$unit_failed
[ "$unit_status" = 0 ] || [ "$unit_failed" -gt 0 ] || failed=$((failed + 1))

testbed_status=0
if [ "${1:-}" != --unit-only ]; then
    step "Linux scenarios in the testbed"
    # Two L1s: the SMP scenarios need one with 4 vCPUs, which on a 2-core host would slow every
    # other scenario down (TCG runs each L1 vCPU on a host thread), so they get their own.
    # SWIFTLET_TEST_SMP=0 leaves them out (and says so) on a machine too slow for them.
    single=() smp=()
    while read -r name; do
        case $name in linux-smp*) smp+=("$name") ;; *) single+=("$name") ;; esac
    done < <(scripts/testbed.sh --list)
    set +e
    scripts/testbed.sh "${single[@]}" 2>&1 | tee "$work/testbed.log"
    testbed_status=${PIPESTATUS[0]}
    if [ ${#smp[@]} -gt 0 ] && [ "${SWIFTLET_TEST_SMP:-1}" = 0 ]; then
        echo "test.sh: NOT RUN: ${smp[*]} (SWIFTLET_TEST_SMP=0)"
    elif [ ${#smp[@]} -gt 0 ]; then
        scripts/testbed.sh "${smp[@]}" 2>&1 | tee -a "$work/testbed.log"
        [ "${PIPESTATUS[0]}" = 0 ] || testbed_status=1
    fi
    set -e
    passed=$((passed + $(grep -cE '^TESTBED-VERDICT [a-z0-9-]+: ok$' "$work/testbed.log" || true)))
    testbed_failed=$(grep -cE '^TESTBED-VERDICT [a-z0-9-]+: FAIL$' "$work/testbed.log" || true)
    failed=$((failed + testbed_failed))
    [ "$testbed_status" = 0 ] || [ "$testbed_failed" -gt 0 ] || failed=$((failed + 1))
fi

fresh_status=0
if [ "${1:-}" != --unit-only ]; then
    step "fresh machine: the README's commands in a fresh Debian root filesystem"
    if [ "$(id -u)" != 0 ]; then
        skipped+=("fresh-container (needs root for chroot and mounts)")
    else
        set +e
        scripts/test-fresh-container.sh 2>&1 | tee "$work/fresh.log"
        fresh_status=${PIPESTATUS[0]}
        set -e
        passed=$((passed + $(grep -cE '^FRESH [a-z0-9-]+: ok' "$work/fresh.log" || true)))
        fresh_failed=$(grep -cE '^FRESH [a-z0-9-]+: FAIL' "$work/fresh.log" || true)
        failed=$((failed + fresh_failed))
        [ "$fresh_status" = 0 ] || [ "$fresh_failed" -gt 0 ] || failed=$((failed + 1))
    fi
fi

echo
skip_status=0
if [ ${#skipped[@]} -gt 0 ]; then
    printf 'SKIPPED: %s\n' "${skipped[@]}"
    if [ "${CI:-}" = true ]; then
        echo "CI=true: a skipped test counts as a failure"
        failed=$((failed + ${#skipped[@]}))
        skip_status=1
    fi
fi
echo "tests: $passed passed, $failed failed"
[ "$unit_status" = 0 ] && [ "$testbed_status" = 0 ] && [ "$fresh_status" = 0 ] && [ $skip_status = 0 ]
