# The set-up step that scripts/run-linux.sh and scripts/test.sh share, so that either works on a
# fresh Debian machine with nothing typed first. Source it after common.sh, then call
#   setup_host run|test
# It checks, in this order, and stops at the first thing it cannot fix:
#   1. the Debian packages every script here uses: as root it installs the missing ones with
#      apt-get; as another user it prints the one `sudo apt-get install ...` line and stops;
#   2. Swift 6.2 or newer on PATH (otherwise: where to get it);
#   3. /dev/kvm: read-write for this user (otherwise the `usermod -aG kvm` hint). `test` needs it
#      (the integration tests boot the tiny guest on it); `run` can do without it (the guest then
#      runs in the nested testbed) and only says so.
# QEMU is the release's own (7.2 on Debian 12): measured side by side, 10.0 from
# bookworm-backports froze the testbed's L1 no less often (docs/testbed.md, "A frozen L1").
# SWIFTLET_QEMU_BACKPORTS=1 installs 10.0 instead, as root: it adds bookworm-backports to apt's
# sources and installs qemu-system-x86 from there.
# shellcheck shell=bash

SETUP_MIN_SWIFT=6.2
SWIFT_INSTALL_URL=https://www.swift.org/install/linux/

# Debian package names, with what needs them:
#   gcc libc6-dev binutils make   the tiny test guest, the benchmark's QEMU guest, Swift's linker
#   linux-libc-dev                <linux/kvm.h> for the CKVM module
#   liburing-dev                  io_uring for virtio-blk's async engine (linked statically)
#   libncurses6 libedit2 libxml2  libraries the Swift toolchain's own programs load
#   libstdc++-NN-dev              linking with --static-swift-stdlib (the testbed's build)
#   git ca-certificates           SwiftPM fetches the package dependencies with git over https
#   qemu-system-x86               the nested testbed (L1) and the benchmark's reference VMM
#   busybox-static cpio           the guest's and L1's initramfs
#   e2fsprogs                     mke2fs for the guest's disk, debugfs for linux-disk
#   xz-utils zstd                 kernel modules that Debian ships compressed
#   curl                          the integration tests talk to the control socket with it
#   python3                       scripts/bench.sh
#   debootstrap                   scripts/test-fresh-container.sh (run by test.sh as root)
#   acpica-tools                  the ACPI table tests disassemble and recompile with iasl
#   flex bison bc libelf-dev      scripts/build-tiny-kernel.sh (linux-mmio-cmdline's kernel)
setup_packages() {
    printf '%s\n' gcc libc6-dev binutils make linux-libc-dev liburing-dev git ca-certificates \
        qemu-system-x86 busybox-static cpio e2fsprogs xz-utils zstd curl python3 \
        libncurses6 libedit2 libxml2 debootstrap acpica-tools flex bison bc libelf-dev \
        "$(setup_libstdcxx_package)"
}

# libstdc++-12-dev on Debian 12, libstdc++-14-dev on 13: the one that goes with the default gcc.
# (gcc itself when it is installed: asking apt takes seconds.)
setup_libstdcxx_package() {
    local gcc_major
    gcc_major=$(gcc -dumpversion 2>/dev/null | cut -d. -f1 || true)
    [ -n "$gcc_major" ] ||
        gcc_major=$(apt-cache depends gcc 2>/dev/null | sed -n 's/.*Depends: gcc-\([0-9][0-9]*\)$/\1/p' | head -n1 || true)
    printf 'libstdc++-%s-dev\n' "${gcc_major:-12}"
}

setup_is_debian() { [ -r /etc/os-release ] && command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; }
setup_codename() { (. /etc/os-release && printf '%s\n' "${VERSION_CODENAME:-}"); }

setup_missing_packages() {
    local installed
    # (dpkg-query fails when it knows some of the packages not at all: that is no error here.)
    installed=$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null | sed -n 's/ install ok installed$//p' | sed 's/:.*//' || true)
    local package
    for package in "$@"; do
        grep -qxF "$package" <<<"$installed" || printf '%s\n' "$package"
    done
}

# Only on request (SWIFTLET_QEMU_BACKPORTS=1), and only Debian 12 has a backport to install.
setup_wants_backports_qemu() {
    [ "${SWIFTLET_QEMU_BACKPORTS:-0}" = 1 ] || return 1
    [ "$(setup_codename)" = bookworm ] || return 1
    local version
    version=$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || true)
    [ -z "$version" ] || dpkg --compare-versions "$version" lt 1:10
}

setup_add_backports() {
    grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ && return 0
    log "adding bookworm-backports to apt's sources (/etc/apt/sources.list.d/swiftlet-backports.sources)"
    local mirror
    mirror=$(grep -rhs -o 'https\?://[^ ]*/debian/\?$\|https\?://[^ ]*/debian/\? ' /etc/apt/sources.list.d/ /etc/apt/sources.list | head -n1 | tr -d ' ' || true)
    cat >/etc/apt/sources.list.d/swiftlet-backports.sources <<EOF
Types: deb
URIs: ${mirror:-http://deb.debian.org/debian}
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
}

# apt-get update when the lists are missing or older than a day: build-guest.sh downloads the
# newest kernel package the lists name, and stale lists name files the archive no longer has.
setup_apt_lists_stale() {
    local newest
    newest=$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -printf '%T@\n' 2>/dev/null | sort -n | tail -n1 || true)
    [ -z "$newest" ] && return 0
    [ $(($(date +%s) - ${newest%.*})) -gt 86400 ]
}

setup_packages_step() {
    local packages missing backports=0 start
    if ! setup_is_debian; then
        log "not a Debian system: install gcc, binutils, make, Linux headers, git, QEMU (x86), a static busybox, cpio, e2fsprogs, xz, zstd, curl and python3 yourself"
        return 0
    fi
    mapfile -t packages < <(setup_packages)
    mapfile -t missing < <(setup_missing_packages "${packages[@]}")
    setup_wants_backports_qemu && backports=1
    [ ${#missing[@]} -gt 0 ] || [ $backports = 1 ] || [ "$(id -u)" != 0 ] || ! setup_apt_lists_stale || {
        log "refreshing apt's package lists (older than a day)"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
    }
    [ ${#missing[@]} -gt 0 ] || [ $backports = 1 ] || return 0

    if [ "$(id -u)" != 0 ]; then
        if [ ${#missing[@]} -gt 0 ]; then
            log "missing Debian packages; install them with:"
            printf '\n    sudo apt-get install %s\n\n' "${missing[*]}" >&2
            die "then run $(basename "$0") again"
        fi
        log "SWIFTLET_QEMU_BACKPORTS=1 needs root: QEMU $(dpkg-query -W -f='${Version}' qemu-system-x86) stays"
        return 0
    fi

    start=$(now)
    export DEBIAN_FRONTEND=noninteractive
    if [ $backports = 1 ]; then
        setup_add_backports
        # QEMU comes in a second step from backports; not first 7.2 and then an upgrade.
        local i
        for i in "${!missing[@]}"; do [ "${missing[i]}" = qemu-system-x86 ] && unset 'missing[i]'; done
    fi
    log "installing Debian packages: ${missing[*]}$([ $backports = 1 ] && echo ' qemu-system-x86 (bookworm-backports)')"
    apt-get update -qq >&2 || die "apt-get update failed"
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || die "apt-get install failed"
    fi
    if [ $backports = 1 ]; then
        # -t: QEMU and the newer versions it needs (seabios, its own data) from backports.
        apt-get install -y -qq --no-install-recommends -t bookworm-backports qemu-system-x86 >&2 ||
            die "installing qemu-system-x86 from bookworm-backports failed"
    fi
    log "packages installed in $(elapsed_since "$start") s"
}

setup_swift_step() {
    local version
    command -v swift >/dev/null 2>&1 ||
        die "Swift is not on PATH: install Swift $SETUP_MIN_SWIFT or newer from $SWIFT_INSTALL_URL and put its usr/bin on PATH"
    version=$(swift --version 2>&1 | sed -n 's/.*Swift version \([0-9][0-9.]*\).*/\1/p' | head -n1 || true)
    [ -n "$version" ] || die "'swift --version' failed: $(swift --version 2>&1 | head -n3 | tr '\n' ' ')"
    [ "$(printf '%s\n%s\n' "$SETUP_MIN_SWIFT" "$version" | sort -V | head -n1)" = "$SETUP_MIN_SWIFT" ] ||
        die "Swift $version is too old: Swiftlet needs $SETUP_MIN_SWIFT or newer ($SWIFT_INSTALL_URL)"
    SETUP_SWIFT_VERSION=$version
}

setup_kvm_step() { # run|test
    if [ ! -e /dev/kvm ]; then
        SETUP_KVM="no /dev/kvm"
        [ "$1" = run ] && return 0
        die "there is no /dev/kvm: the tests boot VMs on it. Enable virtualisation (VT-x/AMD-V, or nested virtualisation in a VM) and load kvm_intel or kvm_amd"
    fi
    if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
        log "/dev/kvm is not read-write for $(id -un); add yourself to its group and log in again:"
        printf '\n    sudo usermod -aG %s %s\n\n' "$(stat -c %G /dev/kvm)" "$(id -un)" >&2
        die "then run $(basename "$0") again (or start a shell with: newgrp $(stat -c %G /dev/kvm))"
    fi
    SETUP_KVM="/dev/kvm read-write"
}

setup_host() { # run|test
    local start; start=$(now)
    setup_packages_step
    setup_swift_step
    setup_kvm_step "$1"
    log "set-up ok: Swift $SETUP_SWIFT_VERSION, $(qemu-system-x86_64 --version 2>/dev/null | head -n1 | sed 's/ (.*//'), $SETUP_KVM ($(elapsed_since "$start") s)"
}
