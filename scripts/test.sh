#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   1. unit tests and host-KVM integration tests (`swift test`, which boots the tiny test guest
#      on this machine's /dev/kvm), built with warnings treated as errors;
#   2. the Linux scenarios in the testbed (real Debian kernel under real KVM; see docs/testbed.md).
# Usage: scripts/test.sh [--unit-only]
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "building the tiny test guest"
scripts/build-test-guest.sh | tail -1

step "building Swiftlet and its tests"
swift build --build-tests

step "unit and host-KVM integration tests"
swift test --skip-build

if [ "${1:-}" = --unit-only ]; then exit 0; fi
if [ -x scripts/testbed.sh ]; then
    step "Linux scenarios in the testbed"
    scripts/testbed.sh
fi
