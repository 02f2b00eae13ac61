#!/usr/bin/env bash
# Builds the default Linux guest from Debian packages into the cache (outside git):
#   bzImage            Debian's cloud kernel of this host's release (the one the metapackage
#                      linux-image-cloud-amd64 names: 6.1 on Debian 12, 6.12 on Debian 13)
#   initramfs.cpio.gz  busybox-static + the virtio modules + guest/linux/init
#   fio.cpio.gz        Debian's fio and e2fsck with their libraries and the loader, for the scenarios
#                      that boot it after initramfs.cpio.gz (linux-disk-fio, bench-fio; below)
#   disk.ext4          a small ext4 image made without root (mke2fs -d) from guest/linux/disk/
#   kvm-modules/       kvm, tun, brd, vhost-vsock and vhost-net of the same kernel, with what they
#                      need (for the nested testbed's L1)
#   vsock-echo         guest/vsock-echo built static: in the initramfs's /bin, and here for the host side
#   kernel-version     the exact package, version and kernel release used
# Nothing is rebuilt when the inputs (these scripts, guest/linux, busybox, the kernel package)
# are unchanged. Usage: scripts/build-guest.sh [--force] [--quiet]
#   SWIFTLET_CACHE           cache folder (default ~/.cache/swiftlet)
#   SWIFTLET_KERNEL_PACKAGE  pin a kernel package instead of the newest one apt lists
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

parse_build_options 16 "$@"

require_tools apt-cache apt-get dpkg-deb cpio gzip xz mke2fs sha256sum cc
BUSYBOX=$(static_busybox)

# Virtio modules in dependency order (virtio needs virtio_ring, virtio_net needs net_failover,
# which needs failover); the cloud kernel has them as modules, not built in.
# The vsock ones follow the same rule: vsock, then the transport's common part, then virtio's.
VIRTIO_MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_mmio virtio_blk failover net_failover virtio_net"
VIRTIO_MODULES="$VIRTIO_MODULES vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport"
# For the testbed's L1: KVM, tun for the taps Swiftlet's virtio-net attaches to, and brd (a RAM
# disk) for bench-fio, whose disk file must sit on a filesystem that takes O_DIRECT: L1's 6.1
# tmpfs refuses it (tmpfs has direct I/O only since Linux 6.6). Then, for QEMU as the reference VMM
# (--vmm qemu), the host ends of its vhost devices: vhost-vsock (bench-vsock: the guest's vsock
# data path in L1's kernel) and vhost-net (bench-net with QEMU_NET_VHOST=on), in dependency order
# (their .ko's depends=: vhost needs vhost_iotlb; vhost_vsock vhost, vsock and
# vmw_vsock_virtio_transport_common, which needs vsock; vhost_net vhost, tap and tun).
# L1's init loads all but brd, in this order.
KVM_MODULES="irqbypass kvm kvm-amd tun brd"
KVM_MODULES="$KVM_MODULES vhost_iotlb vhost vsock vmw_vsock_virtio_transport_common vhost_vsock tap vhost_net"

# fio (issue 14: linux-disk-fio checks data written through the disk under load with fio's
# verify, bench-fio measures latency and IOPS) and e2fsck (linux-disk-fio checks the filesystem
# afterwards; busybox has none). Debian links its fio against the libraries of every I/O engine
# it offers (ceph, gluster, rdma, pmem, nbd, and through them ICU, krb5, gnutls...): about 60
# packages, 81 MiB of libraries, 8 MiB gzipped. So they go into an archive of their own,
# fio.cpio.gz, which only those scenarios append to initramfs.cpio.gz (the kernel unpacks
# concatenated archives): every other boot would otherwise inflate them in the emulator and
# keep them in its RAM (and in every snapshot of it).
FIO_PACKAGES="fio e2fsprogs"
FIO_PROGRAMS="usr/bin/fio sbin/e2fsck"

# The cloud kernel of this host's Debian release: the one its metapackage linux-image-cloud-amd64
# depends on (apt's candidate follows the release, not backports), as the -unsigned package, which
# holds the same kernel. Failing that, the newest cloud kernel apt lists. No version is written
# here, so a new Debian release or kernel ABI needs no change; `apt-get update` moves it on.
choose_kernel_package() {
    if [ -n "${SWIFTLET_KERNEL_PACKAGE:-}" ]; then
        printf '%s\n' "$SWIFTLET_KERNEL_PACKAGE"
        return
    fi
    local image
    image=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[^ ]*-cloud-amd64\)$/\1/p' | head -n1)
    if [ -n "$image" ] && apt-cache show "$image-unsigned" >/dev/null 2>&1; then
        printf '%s\n' "$image-unsigned"
        return
    fi
    apt-cache search --names-only '^linux-image-[0-9].*-cloud-amd64-unsigned$' 2>/dev/null |
        cut -d' ' -f1 | sort -V | tail -n1
}

# When apt knows no kernel (no network, no apt-get update) the kernel already unpacked in the
# cache still builds a guest; say so instead of failing.
newest_cached_kernel() {
    local dir
    dir=$(find "$SWIFTLET_CACHE/kernel" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | sort -V | tail -n1)
    [ -n "$dir" ] && [ -f "$dir/.unpacked" ] && printf '%s\n' "$dir"
}

fetch_kernel() {
    local package version deb
    package=$(choose_kernel_package)
    if [ -z "$package" ]; then
        KERNEL_DIR=$(newest_cached_kernel) ||
            die "apt lists no linux-image-*-cloud-amd64-unsigned and the cache has none (run apt-get update)"
        log "apt lists no cloud kernel; using the cached $(basename "$KERNEL_DIR")"
        return
    fi
    version=$(apt-cache show --no-all-versions "$package" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
    [ -n "$version" ] || die "apt-cache knows no version of $package"
    KERNEL_DIR="$SWIFTLET_CACHE/kernel/${package}_${version}"
    [ -f "$KERNEL_DIR/.unpacked" ] && return

    deb=$(cached_deb "$package" "$version")
    rm -rf "$KERNEL_DIR"
    mkdir -p "$KERNEL_DIR"
    log "unpacking $(basename "$deb")"
    dpkg-deb -x "$deb" "$KERNEL_DIR"
    printf 'package=%s\nversion=%s\n' "$package" "$version" >"$KERNEL_DIR/.package"
    touch "$KERNEL_DIR/.unpacked"
}

# Debian 13's modules (and 12's backported kernels') are compressed (.ko.xz), which busybox's
# insmod cannot load: copies NAME as a plain NAME.ko into DIR, decompressing it if need be.
# A module built into the kernel (modules.builtin) is left out; the inits skip what is absent.
copy_module() { # NAME DIR
    local path
    path=$(find "$MODULE_ROOT/kernel" \( -name "$1.ko" -o -name "$1.ko.xz" -o -name "$1.ko.zst" -o -name "$1.ko.gz" \) | head -n1)
    if [ -z "$path" ]; then
        grep -q "/$1\.ko\$" "$MODULE_ROOT/modules.builtin" 2>/dev/null && return 0
        die "kernel module $1 not found under $MODULE_ROOT"
    fi
    case $path in
    *.ko) cp "$path" "$2/$1.ko" ;;
    *.xz) xz -dc "$path" >"$2/$1.ko" ;;
    *.zst) require_tools zstd; zstd -qdc "$path" >"$2/$1.ko" ;;
    *.gz) gzip -dc "$path" >"$2/$1.ko" ;;
    esac
}

# PACKAGE... and every library package they depend on, recursively (Depends and Pre-Depends of
# packages named lib* or zlib1g only: those hold the shared libraries; python3, perl and the
# like that fio's package also depends on are never loaded by the binaries). One apt-cache call
# per level of the tree. Alternatives (a|b) take the last one; a missing library shows up in the
# loader's list below instead.
library_closure() { # PACKAGE...
    local seen=" " level="$*" next dep p
    while [ -n "$level" ]; do
        for p in $level; do seen="$seen$p "; done
        next=" "
        # shellcheck disable=SC2086
        for dep in $(apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
            --no-replaces --no-enhances $level 2>/dev/null |
            sed -n 's/^ *\(Pre\)\{0,1\}Depends: \([^ <>]*\)$/\2/p' | sed 's/:any$//' | sort -u); do
            case $dep in lib* | zlib1g) ;; *) continue ;; esac
            case "$seen$next" in *" $dep "*) continue ;; esac
            next="$next$dep "
        done
        level=$(echo $next)
    done
    echo $seen
}

# Unpacks FIO_PACKAGES and their library packages (fetched like the kernel, into debs/) into
# $SWIFTLET_CACHE/fio/<versions>/root once; sets FIO_DIR. Without apt lists, the newest one in
# the cache.
fetch_fio() {
    local versions package version deb
    versions=$(apt-cache show --no-all-versions $FIO_PACKAGES 2>/dev/null |
        awk '/^Package:/ { p = $2 } /^Version:/ { printf "%s%s_%s", sep, p, $2; sep = "_" }' | tr ':' '%')
    for package in $FIO_PACKAGES; do
        case _$versions in *_${package}_*) ;; *) versions= ;; esac
    done
    if [ -z "$versions" ]; then
        FIO_DIR=$(find "$SWIFTLET_CACHE/fio" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | sort -V | tail -n1)
        [ -n "$FIO_DIR" ] && [ -f "$FIO_DIR/.unpacked" ] ||
            die "apt knows no $FIO_PACKAGES and the cache has none (run apt-get update)"
        log "apt lists no $FIO_PACKAGES; using the cached $(basename "$FIO_DIR")"
        return
    fi
    FIO_DIR="$SWIFTLET_CACHE/fio/$versions"
    [ -f "$FIO_DIR/.unpacked" ] && return
    rm -rf "$FIO_DIR"
    mkdir -p "$FIO_DIR/root"
    log "resolving the library packages of $FIO_PACKAGES"
    # shellcheck disable=SC2046
    apt-cache show --no-all-versions $(library_closure $FIO_PACKAGES) 2>/dev/null |
        awk '/^Package:/ { p = $2 } /^Version:/ { print p, $2 }' >"$FIO_DIR/packages"
    while read -r package version; do
        deb=$(cached_deb "$package" "$version")
        dpkg-deb -x "$deb" "$FIO_DIR/root"
    done <"$FIO_DIR/packages"
    log "unpacked $(wc -l <"$FIO_DIR/packages") packages for $FIO_PACKAGES"
    touch "$FIO_DIR/.unpacked"
}

# fio.cpio.gz: FIO_PROGRAMS with every shared library they load and the dynamic loader, all from
# the unpacked packages (not from this host). The list is the one `ldd` prints: ldd runs the
# loader with --list, and so does this, with the packages' own loader and library folders
# (librados and librbd find libceph-common through their RUNPATH, .../ceph).
build_fio_archive() { # STAGE OUTPUT
    local stage=$1 out=$2 root="$FIO_DIR/root" loader program list lib
    loader="$root/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    [ -x "$loader" ] || die "no dynamic loader in $root (libc6 not among the unpacked packages?)"
    mkdir -p "$stage/lib64"
    cp "$loader" "$stage/lib64/ld-linux-x86-64.so.2"
    for program in $FIO_PROGRAMS; do
        [ -x "$root/$program" ] || die "no $program in the unpacked $FIO_PACKAGES"
        mkdir -p "$stage/$(dirname "$program")"
        cp "$root/$program" "$stage/$program"
        list=$("$loader" --library-path "$root/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu/ceph" \
            --list "$root/$program") || die "the loader cannot list the libraries of $program: $list"
        ! printf '%s\n' "$list" | grep 'not found' ||
            die "$program needs libraries no unpacked package has (listed above)"
        for lib in $(printf '%s\n' "$list" | sed -n "s|.* => $root\(/[^ ]*\) (0x.*|\1|p"); do
            mkdir -p "$stage$(dirname "$lib")"
            cp -L "$root$lib" "$stage$lib"
        done
    done
    (cd "$stage" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R +0:+0 --reproducible) | gzip -9 -n >"$out"
}

inputs_digest() {
    {
        printf 'kernel %s\n' "$(basename "$KERNEL_DIR")"
        printf 'fio %s\n' "$(basename "$FIO_DIR")"
        printf 'busybox %s\n' "$(sha256sum <"$BUSYBOX" | cut -d' ' -f1)"
        printf 'mke2fs %s\n' "$(mke2fs -V 2>&1 | head -n1)"
        (cd "$REPO_ROOT" && find scripts/build-guest.sh scripts/lib/common.sh guest/linux/init guest/linux/disk guest/vsock-echo \
            -type f | LC_ALL=C sort | xargs sha256sum)
    } | sha256sum | cut -d' ' -f1
}

build_initramfs() { # STAGE OUTPUT
    local stage=$1 out=$2 module
    mkdir -p "$stage/bin" "$stage/dev" "$stage/proc" "$stage/sys" "$stage/tmp" "$stage/root" "$stage/lib/modules"
    cp "$BUSYBOX" "$stage/bin/busybox"
    ln -s busybox "$stage/bin/sh"
    cp "$REPO_ROOT/guest/linux/init" "$stage/init"
    chmod 755 "$stage/init"
    # Built next to the initramfs (the testbed copies it from there for the host side too).
    cp "$(dirname "$out")/vsock-echo" "$stage/bin/vsock-echo"
    for module in $VIRTIO_MODULES; do
        copy_module "$module" "$stage/lib/modules"
    done
    initramfs_archive "$stage" | gzip -9 -n >"$out"
}

build_disk() { # STAGE OUTPUT
    local stage=$1 out=$2
    mkdir -p "$stage"
    cp -r "$REPO_ROOT/guest/linux/disk/." "$stage/"
    # Fixed UUID, hash seed and time so the same inputs give the same image bytes.
    E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -F -t ext4 -d "$stage" -L swiftlet \
        -U 5f1e7a1e-0000-4000-8000-5317f1e70001 \
        -E root_owner=0:0,hash_seed=5f1e7a1e-0000-4000-8000-5317f1e70002 \
        "$out" 32M >/dev/null
}

lock_cache guest
fetch_kernel
fetch_fio
MODULE_ROOT=$(find "$KERNEL_DIR/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n1)
[ -n "$MODULE_ROOT" ] || die "no lib/modules in $KERNEL_DIR"
RELEASE=$(basename "$MODULE_ROOT")
DIGEST=$(inputs_digest)

if [ $FORCE = 0 ] && [ -f "$GUEST_OUT/inputs.sha256" ] && [ "$(cat "$GUEST_OUT/inputs.sha256")" = "$DIGEST" ]; then
    [ $QUIET = 1 ] || log "guest images up to date in $GUEST_OUT"
else
    start=$(now)
    tmp="$GUEST_OUT.new"
    rm -rf "$tmp"
    mkdir -p "$tmp/kvm-modules"
    cp "$KERNEL_DIR/boot/vmlinuz-$RELEASE" "$tmp/bzImage"
    for module in $KVM_MODULES; do
        copy_module "$module" "$tmp/kvm-modules"
    done
    cc -static -O2 -Wall -Wextra -Werror -o "$tmp/vsock-echo" "$REPO_ROOT/guest/vsock-echo/vsock-echo.c"
    build_initramfs "$tmp/stage-initramfs" "$tmp/initramfs.cpio.gz"
    build_fio_archive "$tmp/stage-fio" "$tmp/fio.cpio.gz"
    build_disk "$tmp/stage-disk" "$tmp/disk.ext4"
    rm -rf "$tmp/stage-initramfs" "$tmp/stage-fio" "$tmp/stage-disk"
    # shellcheck disable=SC1091
    source "$KERNEL_DIR/.package"
    printf '%s %s (kernel %s)\n' "$package" "$version" "$RELEASE" >"$tmp/kernel-version"
    awk '$1 == "fio" || $1 == "e2fsprogs" { printf "%s%s %s", sep, $1, $2; sep = ", " } END { print "" }' \
        "$FIO_DIR/packages" >"$tmp/fio-version"
    printf '%s\n' "$DIGEST" >"$tmp/inputs.sha256"
    rm -rf "$GUEST_OUT"
    mv "$tmp" "$GUEST_OUT"
    log "guest images built in $(elapsed_since "$start") s in $GUEST_OUT"
fi

[ $QUIET = 1 ] || {
    log "kernel: $(cat "$GUEST_OUT/kernel-version")"
    log "  $GUEST_OUT/bzImage"
    log "  $GUEST_OUT/initramfs.cpio.gz"
    log "  $GUEST_OUT/fio.cpio.gz ($(cat "$GUEST_OUT/fio-version"))"
    log "  $GUEST_OUT/disk.ext4"
}
