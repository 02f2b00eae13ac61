#!/bin/sh
# Runs one libFuzzer target for SECONDS (default 60) on its seed corpus (Fuzz/corpus/TARGET,
# copied so the repository's seeds stay small) and prints libFuzzer's execution count.
#   scripts/fuzz.sh TARGET [SECONDS]     TARGET: VirtqueueBlock PCIConfig APIRouter ConfigFile SnapshotState
#   scripts/fuzz.sh --build              builds every target (release, -sanitize=fuzzer,address)
# Crashes and leaks land in .build-fuzz/artifacts/TARGET/; libFuzzer exits non-zero for them.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
scratch="$root/.build-fuzz"
targets="VirtqueueBlock PCIConfig APIRouter ConfigFile SnapshotState"

build() {
    # Debug configuration: @testable imports need testability, and the sanitizers matter
    # more than speed. Its own scratch path keeps the normal build's cache intact.
    SWIFTLET_FUZZ=1 swift build --package-path "$root" --scratch-path "$scratch" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing $1 >&2
}

if [ "${1:-}" = "--build" ]; then
    for target in $targets; do build "--product fuzz-$target"; done
    exit 0
fi
[ $# -ge 1 ] || { echo "usage: scripts/fuzz.sh TARGET [SECONDS] | --build" >&2; exit 2; }
target=$1
seconds=${2:-60}
case " $targets " in *" $target "*) ;; *) echo "fuzz.sh: unknown target $target (one of: $targets)" >&2; exit 2 ;; esac
build "--product fuzz-$target"
binary="$scratch/debug/fuzz-$target"
corpus="$scratch/corpus/$target"
artifacts="$scratch/artifacts/$target"
mkdir -p "$corpus" "$artifacts"
cp "$root/Fuzz/corpus/$target"/* "$corpus"/ 2>/dev/null || true
"$binary" "$corpus" -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=4096 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 2>&1 | tee "$scratch/$target.log" | grep -E "^(#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)" || true
# "CHECK failed": a sanitizer runtime's own assertion (libFuzzer then runs nothing at all).
status=$(grep -c "ERROR\|SUMMARY: AddressSanitizer\|deadly signal\|CHECK failed" "$scratch/$target.log" || true)
[ "$status" = 0 ] || { echo "fuzz.sh: $target found a problem, see $scratch/$target.log" >&2; exit 1; }
