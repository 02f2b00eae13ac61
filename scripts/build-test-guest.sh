#!/bin/sh
# Builds Swiftlet's freestanding test guest (guest/testguest, plus the C library in guest/lib that
# it shares with the QEMU bench guest) into guest/testguest/build/ and
# prints the absolute path of the ELF image as the last line of stdout. Rebuilds only when a
# source, the linker script or this script is newer than the image. Every other message goes to
# stderr, so `$(scripts/build-test-guest.sh | tail -1)` is the image path.
#
# The image must run where guest CPL0 code is emulated by KVM's instruction emulator (PVM hosts),
# so after linking it is disassembled and rejected if it contains instructions that emulator
# cannot run (int3, xsave/xrstor, cmpxchg16b, SSE/x87 registers, endbr64, ...).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
guest="$root/guest/testguest"
lib="$root/guest/lib"
build="$guest/build"
image="$build/testguest.elf"
CC=${CC:-gcc}

die() {
    echo "build-test-guest: error: $*" >&2
    exit 1
}

command -v "$CC" >/dev/null 2>&1 || die "'$CC' not found; the test guest needs gcc (Debian: apt-get install gcc)"
command -v objdump >/dev/null 2>&1 || die "objdump not found; install binutils"
command -v readelf >/dev/null 2>&1 || die "readelf not found; install binutils"

mkdir -p "$build"

needs_build=1
if [ -f "$image" ]; then
    newer=$(find "$guest/src" "$lib" "$guest/linker.ld" "$0" -newer "$image" 2>/dev/null | head -1)
    [ -z "$newer" ] && needs_build=0
fi

if [ "$needs_build" = 1 ]; then
    echo "build-test-guest: building $image" >&2
    # A failed build must not leave an older image that a later run would call up to date.
    rm -f "$image"
    # -mgeneral-regs-only: no SSE/x87; -fcf-protection=none: no endbr64, which KVM's emulator
    # lacks; -falign-*=1: padding NOPs inside functions would be executed at microseconds each;
    # -fno-tree-loop-distribute-patterns: keep gcc from turning memset's own loop into a memset call.
    cflags="-std=gnu11 -O2 -Wall -Wextra -Werror -ffreestanding -nostdlib -fno-builtin-printf
        -mgeneral-regs-only -mno-red-zone -fno-pic -fno-pie -mcmodel=small -march=x86-64 -mtune=generic
        -fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables -fcf-protection=none
        -falign-jumps=1 -falign-loops=1 -falign-labels=1 -fno-tree-loop-distribute-patterns
        -fno-jump-tables"
    tmp="$build/testguest.elf.tmp"
    # shellcheck disable=SC2086
    "$CC" $cflags -static -no-pie -Wl,--build-id=none -Wl,-z,noexecstack -Wl,-z,max-page-size=4096 \
        -I "$lib" -T "$guest/linker.ld" -o "$tmp" "$guest"/src/entry.S "$guest"/src/*.c "$lib"/*.c -lgcc \
        || die "compiling the test guest failed"

    header=$(readelf -h "$tmp")
    echo "$header" | grep -q 'Type:[[:space:]]*EXEC' || die "image is not an ELF EXEC file"
    echo "$header" | grep -q 'Machine:[[:space:]]*Advanced Micro Devices X86-64' || die "image is not x86_64"

    forbidden='(^|[[:space:]])(int3|xsave[a-z0-9]*|xrstor[a-z0-9]*|fxsave[a-z0-9]*|fxrstor[a-z0-9]*|cmpxchg16b|cmpxchg8b|endbr64|endbr32|[lms]fence|popcnt|tzcnt|lzcnt|rdrand|rdseed|vzeroupper)([[:space:]]|$)|%[xyz]mm[0-9]|%mm[0-7]|%st(\(|\b)'
    if objdump -d --no-show-raw-insn "$tmp" | grep -E "$forbidden" >&2; then
        rm -f "$tmp"
        die "the image contains instructions KVM's emulator cannot run (listed above)"
    fi
    mv "$tmp" "$image"
else
    echo "build-test-guest: $image is up to date" >&2
fi

echo "$image"
