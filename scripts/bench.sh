#!/usr/bin/env bash
# Benchmarks Swiftlet against QEMU (Debian's qemu-system-x86) on this host's /dev/kvm and prints a
# Markdown table; see docs/benchmarks.md for what each row measures.
# Usage: scripts/bench.sh [--quick] [--json PATH] [--runs N] [--linux] [--time-limit SECONDS] [--only ROWS]
#   --quick     one run per figure (CI smoke run, well under two minutes)
#   --json PATH also write the figures as JSON
#   --linux     also the Linux rows (boot, virtio-blk, SMP, virtio-net, vsock, fio) in the nested testbed (scripts/testbed.sh, ~60 min)
#   --time-limit SECONDS  fail and skip the remaining rows after this long (default 100 / 1200,
#               5400 more with --linux)
#   --only ROWS comma-separated row groups, e.g. --only "exits,first output"
# Exits non-zero if a build or any measurement fails.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "bench: error: $*" >&2; exit 1; }

for tool in python3 qemu-system-x86_64 gcc swift; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found"
done
[ -r /dev/kvm ] && [ -w /dev/kvm ] || die "/dev/kvm is not accessible"

work=$(mktemp -d "${TMPDIR:-/tmp}/swiftlet-bench-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "bench: building swiftlet (release)" >&2
swift build -c release --product swiftlet >&2
swiftlet="$(swift build -c release --show-bin-path)/swiftlet"
[ -x "$swiftlet" ] || die "no swiftlet binary at $swiftlet"

test_guest=$(scripts/build-test-guest.sh | tail -1)
[ -f "$test_guest" ] || die "the test guest was not built"

# QEMU cannot load Swiftlet's 64-bit test guest, so it gets a 32-bit multiboot twin of it.
echo "bench: building the QEMU bench guest" >&2
qemu_guest="$work/benchguest.elf"
# It shares guest/lib with the test guest; -fno-tree-loop-distribute-patterns keeps gcc from
# turning the library's memset loop into a call to memset, and the other flags match the test
# guest's (scripts/build-test-guest.sh) because QEMU runs it on the same /dev/kvm.
gcc -m32 -std=gnu11 -O2 -Wall -Wextra -Werror -ffreestanding -nostdlib -mgeneral-regs-only \
    -fno-pic -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables -fcf-protection=none \
    -falign-jumps=1 -falign-loops=1 -falign-labels=1 -fno-tree-loop-distribute-patterns -fno-jump-tables \
    -static -no-pie -Wl,-m,elf_i386 -Wl,--build-id=none -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments \
    -I guest/lib -T scripts/bench/guest/linker.ld -o "$qemu_guest" \
    scripts/bench/guest/entry.S scripts/bench/guest/main.c guest/lib/*.c \
    || die "building the QEMU bench guest failed (gcc needs -m32 support: cc1 only, no multilib libraries)"

python3 scripts/bench/bench.py --swiftlet "$swiftlet" --test-guest "$test_guest" --qemu-guest "$qemu_guest" "$@"
