#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   1. unit tests and host-KVM integration tests (`swift test`, which boots the tiny test guest
#      on this machine's /dev/kvm), built with warnings treated as errors (see Package.swift);
#   2. the Linux scenarios in the testbed (Debian's kernel under real KVM; see docs/testbed.md).
# Ends with one line `tests: N passed, M failed` over both.
# Usage: scripts/test.sh [--unit-only]
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step "building the tiny test guest"
scripts/build-test-guest.sh | tail -1

step "building Swiftlet and its tests"
swift build --build-tests

step "unit and host-KVM integration tests"
set +e
# One test at a time: the integration tests start real VMs, and on two cores parallel VMs
# would only race each other for time.
swift test --skip-build --no-parallel 2>&1 | tee "$work/swift-test.log"
unit_status=${PIPESTATUS[0]}
set -e
unit_total=$(sed -n 's/.*Test run with \([0-9]*\) tests\{0,1\} in .*/\1/p' "$work/swift-test.log" | tail -n1)
unit_failed=$(grep -cE '^✘ Test .* failed after' "$work/swift-test.log" || true)
unit_total=${unit_total:-0}
passed=$((unit_total - unit_failed))
failed=$unit_failed
[ "$unit_status" = 0 ] || [ "$unit_failed" -gt 0 ] || failed=$((failed + 1))

testbed_status=0
if [ "${1:-}" != --unit-only ]; then
    step "Linux scenarios in the testbed"
    set +e
    scripts/testbed.sh 2>&1 | tee "$work/testbed.log"
    testbed_status=${PIPESTATUS[0]}
    set -e
    passed=$((passed + $(grep -cE '^TESTBED [a-z0-9-]+: ok' "$work/testbed.log" || true)))
    testbed_failed=$(grep -cE '^\[testbed.sh\] FAIL|^TESTBED [a-z0-9-]+: FAIL' "$work/testbed.log" || true)
    failed=$((failed + testbed_failed))
    [ "$testbed_status" = 0 ] || [ "$testbed_failed" -gt 0 ] || failed=$((failed + 1))
fi

echo
echo "tests: $passed passed, $failed failed"
[ "$unit_status" = 0 ] && [ "$testbed_status" = 0 ]
