# Shared helpers for the guest, testbed and run scripts. Source it; it defines functions only,
# plus the paths every script agrees on.
# shellcheck shell=bash

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Everything fetched or generated lives outside git, so a clean clone stays clean and repeated
# runs reuse downloads.
SWIFTLET_CACHE=${SWIFTLET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/swiftlet}
GUEST_OUT="$SWIFTLET_CACHE/guest"
# A scratch path of its own, so the static release build never disturbs a developer's .build.
SWIFTLET_BUILD_DIR=${SWIFTLET_BUILD_DIR:-$REPO_ROOT/.build-testbed}

log() { printf '%s\n' "[$(basename "$0")] $*" >&2; }
die() { log "error: $*"; exit 1; }

require_tools() {
    local missing=() tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    [ ${#missing[@]} -eq 0 ] || die "missing tools: ${missing[*]} (apt-get install qemu-system-x86 busybox-static cpio e2fsprogs)"
}

# Debian ships busybox-static as /bin/busybox; a dynamically linked busybox cannot run in an
# initramfs that has no libc, so refuse it rather than build a guest that dies at init.
static_busybox() {
    local bb
    for bb in "${SWIFTLET_BUSYBOX:-}" /bin/busybox /usr/bin/busybox; do
        [ -n "$bb" ] && [ -x "$bb" ] || continue
        if ! ldd "$bb" >/dev/null 2>&1; then
            printf '%s\n' "$bb"
            return 0
        fi
    done
    die "no statically linked busybox found (apt-get install busybox-static)"
}

# Real VMX/SVM KVM can run an unmodified Linux kernel; PVM's /dev/kvm (kvm_pvm) cannot
# (docs/testbed.md explains why), so Linux guests then need the nested testbed.
host_kvm_runs_linux() {
    [ -e /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
    [ -e /sys/module/kvm_pvm ] && return 1
    grep -qw -e vmx -e svm /proc/cpuinfo
}

# Seconds since boot as a decimal; the same clock the guest scripts use.
now() { cut -d' ' -f1 /proc/uptime; }
elapsed_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Builds the CLI as one self-contained binary: with the Swift runtime linked statically it
# needs only glibc, so the testbed's initramfs can carry it with a handful of libraries.
build_swiftlet_release() {
    require_tools swift
    log "building swiftlet (release, static Swift stdlib) in $SWIFTLET_BUILD_DIR"
    local start; start=$(now)
    (cd "$REPO_ROOT" && swift build -c release --product swiftlet --static-swift-stdlib \
        --scratch-path "$SWIFTLET_BUILD_DIR" >&2) || die "swift build failed"
    SWIFTLET_BIN="$SWIFTLET_BUILD_DIR/release/swiftlet"
    [ -x "$SWIFTLET_BIN" ] || die "swift build produced no $SWIFTLET_BIN"
    log "swiftlet built in $(elapsed_since "$start") s: $SWIFTLET_BIN"
}

# The build scripts' options: sets FORCE and QUIET; -h prints the script's header comment,
# lines 2 to LAST_HELP_LINE.
parse_build_options() { # LAST_HELP_LINE ARGUMENT...
    local last=$1 arg
    shift
    FORCE=0
    QUIET=0
    for arg in "$@"; do
        case $arg in
        --force) FORCE=1 ;;
        --quiet) QUIET=1 ;;
        -h | --help) sed -n "2,${last}p" "$0"; exit 0 ;;
        *) die "unknown argument: $arg" ;;
        esac
    done
}

# The .deb of PACKAGE at VERSION in the cache's debs/ folder, downloaded with apt-get first if
# it is not there yet; prints its path.
cached_deb() { # PACKAGE VERSION
    local package=$1 version=$2 deb_dir="$SWIFTLET_CACHE/debs" deb start
    mkdir -p "$deb_dir"
    find_deb() {
        find "$deb_dir" -maxdepth 1 -name "${package}_*.deb" | while read -r f; do
            [ "$(dpkg-deb -f "$f" Version)" = "$version" ] && printf '%s\n' "$f"; done | head -n1
    }
    deb=$(find_deb)
    if [ -z "$deb" ]; then
        log "downloading $package=$version"
        start=$(now)
        (cd "$deb_dir" && apt-get download -q "$package=$version" >&2) ||
            die "apt-get download $package=$version failed (stale package lists? apt-get update)"
        log "downloaded in $(elapsed_since "$start") s"
        deb=$(find_deb)
        [ -n "$deb" ] || die "apt-get download left no .deb for $package=$version"
    fi
    printf '%s\n' "$deb"
}

# The guest images build-guest.sh leaves in the cache.
load_guest_paths() {
    GUEST_KERNEL="$GUEST_OUT/bzImage"
    GUEST_INITRAMFS="$GUEST_OUT/initramfs.cpio.gz"
    GUEST_DISK="$GUEST_OUT/disk.ext4"
    GUEST_KVM_MODULES="$GUEST_OUT/kvm-modules"
    GUEST_KERNEL_VERSION=$(cat "$GUEST_OUT/kernel-version" 2>/dev/null || true)
    [ -f "$GUEST_KERNEL" ] && [ -f "$GUEST_INITRAMFS" ] || die "no guest images in $GUEST_OUT (run scripts/build-guest.sh)"
}

# STAGE as an initramfs on stdout: a newc archive owned by root, in a fixed order, with the
# /dev/console node init's stdio needs appended (cpio_char_device).
initramfs_archive() { # STAGE
    (cd "$1" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R +0:+0 --reproducible)
    cpio_char_device dev/console 5 1
}

# A newc cpio archive holding one character device node. GNU cpio can only archive nodes that
# exist, and creating /dev/console needs root; the kernel unpacks concatenated archives, so this
# small hand-written one is appended to the main archive instead.
cpio_char_device() { # NAME MAJOR MINOR
    local name=$1 major=$2 minor=$3 header
    # magic ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
    header=$(printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
        1 $((0020000 | 0600)) 0 0 1 0 0 0 0 "$major" "$minor" $((${#name} + 1)) 0)
    cpio_pad_entry "$header" "$name"
    header=$(printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
        0 0 0 0 1 0 0 0 0 0 0 11 0)
    cpio_pad_entry "$header" "TRAILER!!!"
}
# Header (110 bytes) + name + NUL, padded to a multiple of 4 (no file data follows).
cpio_pad_entry() {
    local len=$((110 + ${#2} + 1))
    printf '%s%s\0' "$1" "$2"
    head -c $(((4 - len % 4) % 4)) /dev/zero
}

# Serialises scripts that write the same part of the cache (two testbed runs would overwrite
# each other's L1 staging, and run two emulators on a machine that has room for one).
lock_cache() { # NAME
    mkdir -p "$SWIFTLET_CACHE"
    exec 9>"$SWIFTLET_CACHE/$1.lock"
    if ! flock -n 9; then
        log "waiting for another $1 run using $SWIFTLET_CACHE"
        flock 9
    fi
}
