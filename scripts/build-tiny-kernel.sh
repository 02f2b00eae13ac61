#!/usr/bin/env bash
# Builds the testbed's second guest into the cache (outside git): a tinyconfig kernel from
# Debian's linux-source package (6.1 on Debian 12) with guest/linux/tiny/kernel.config merged
# in (virtio-mmio found through command-line words only, no ACPI, no PCI), and an initramfs
# holding guest/linux/tiny/init.c built static. The scenario linux-mmio-cmdline boots it.
#   TINY_OUT/bzImage  TINY_OUT/initramfs.cpio  TINY_OUT/kernel-version
# Nothing is rebuilt when the inputs (this script, guest/linux/tiny, the source package) are
# unchanged. Usage: scripts/build-tiny-kernel.sh [--force] [--quiet]
#   SWIFTLET_CACHE   cache folder (default ~/.cache/swiftlet); the output is $SWIFTLET_CACHE/tiny
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

parse_build_options 9 "$@"

require_tools apt-cache apt-get dpkg-deb cpio xz make gcc flex bison bc
TINY_DIR="$REPO_ROOT/guest/linux/tiny"

# The source package the metapackage linux-source names (linux-source-6.1 on Debian 12).
choose_source_package() {
    apt-cache depends linux-source 2>/dev/null | sed -n 's/^ *Depends: \(linux-source-[0-9.]*\)$/\1/p' | head -n1
}

inputs_digest() { # PACKAGE VERSION
    {
        printf 'source %s %s\n' "$1" "$2"
        printf 'gcc %s\n' "$(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion)"
        (cd "$REPO_ROOT" && find scripts/build-tiny-kernel.sh scripts/lib/common.sh guest/linux/tiny -type f |
            LC_ALL=C sort | xargs sha256sum)
    } | sha256sum | cut -d' ' -f1
}

# Every option the fragment sets must have survived olddefconfig: a dependency missing in a
# new source release would otherwise drop one silently and the scenario would fail obscurely.
check_config() { # BUILD_DIR
    local line option
    while read -r line; do
        case $line in
        CONFIG_*=*) grep -qx "$line" "$1/.config" || die "the tiny kernel's .config lost $line (guest/linux/tiny/kernel.config)" ;;
        "# CONFIG_"*" is not set")
            option=${line#\# }
            option=${option%% *}
            ! grep -q "^$option=" "$1/.config" || die "the tiny kernel's .config has $option set" ;;
        esac
    done <"$TINY_DIR/kernel.config"
}

build_kernel() { # PACKAGE VERSION OUTPUT_DIR
    local deb work tarball src
    deb=$(cached_deb "$1" "$2")
    work=$(mktemp -d "${TMPDIR:-/tmp}/swiftlet-tiny.XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" EXIT
    log "unpacking $(basename "$deb")"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" --wildcards './usr/src/linux-source-*.tar.xz'
    tarball=$(find "$work/usr/src" -name 'linux-source-*.tar.xz' | head -n1)
    [ -n "$tarball" ] || die "$(basename "$deb") holds no linux-source-*.tar.xz"
    tar -xJf "$tarball" -C "$work"
    rm -f "$tarball"
    src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'linux-source-*' | head -n1)
    log "configuring (tinyconfig + guest/linux/tiny/kernel.config)"
    make -s -C "$src" tinyconfig >/dev/null
    "$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$TINY_DIR/kernel.config" >/dev/null
    make -s -C "$src" olddefconfig >/dev/null
    check_config "$src"
    log "building bzImage with $(nproc) jobs"
    make -s -C "$src" -j"$(nproc)" bzImage >/dev/null 2>"$work/build.log" || {
        tail -n 30 "$work/build.log" >&2
        die "building the tiny kernel failed"
    }
    cp "$src/arch/x86/boot/bzImage" "$3/bzImage"
    printf '%s %s (tinyconfig + guest/linux/tiny/kernel.config, %s)\n' "$1" "$2" "$(make -s -C "$src" kernelrelease)" >"$3/kernel-version"
    rm -rf "$work"
    trap - EXIT
}

build_initramfs() { # OUTPUT_DIR
    local stage="$1/stage"
    mkdir -p "$stage/dev"
    gcc -static -O2 -Wall -Wextra -Werror -o "$stage/init" "$TINY_DIR/init.c"
    # Uncompressed: the kernel needs no decompressor for it.
    initramfs_archive "$stage" >"$1/initramfs.cpio"
    rm -rf "$stage"
}

TINY_OUT="$SWIFTLET_CACHE/tiny"
lock_cache tiny
package=$(choose_source_package)
[ -n "$package" ] || die "apt lists no linux-source-* package (run apt-get update)"
version=$(apt-cache show --no-all-versions "$package" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
[ -n "$version" ] || die "apt-cache knows no version of $package"
digest=$(inputs_digest "$package" "$version")
if [ $FORCE = 0 ] && [ -f "$TINY_OUT/inputs.sha256" ] && [ "$(cat "$TINY_OUT/inputs.sha256")" = "$digest" ]; then
    [ $QUIET = 1 ] || log "tiny kernel up to date in $TINY_OUT"
    exit 0
fi
start=$(now)
tmp="$TINY_OUT.new"
rm -rf "$tmp"
mkdir -p "$tmp"
build_kernel "$package" "$version" "$tmp"
build_initramfs "$tmp"
printf '%s\n' "$digest" >"$tmp/inputs.sha256"
rm -rf "$TINY_OUT"
mv "$tmp" "$TINY_OUT"
log "tiny kernel built in $(elapsed_since "$start") s: $(cat "$TINY_OUT/kernel-version")"
