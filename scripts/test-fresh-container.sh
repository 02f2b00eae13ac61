#!/usr/bin/env bash
# The "fresh machine" test: the README's two commands on a Debian root filesystem that has
# nothing but Swift added, in a chroot. Checks that they get past the set-up step
# (scripts/lib/setup.sh) on their own:
#   fresh-nonroot   as an ordinary user, scripts/test.sh and scripts/run-linux.sh stop at once with
#                   the one `sudo apt-get install ...` line naming the missing packages;
#   fresh-run-linux as root, scripts/run-linux.sh installs the packages, passes the Swift and
#                   /dev/kvm checks, downloads Debian's kernel, builds the guest images and starts
#                   building Swiftlet (stopped there: the rest is what the testbed tests);
#   fresh-test      as root, scripts/test.sh passes the set-up, builds the tiny test guest, and
#                   swift build fetches the package dependencies and starts compiling (stopped
#                   there).
# Prints `FRESH <name>: ok (...)` or `FRESH <name>: FAIL <reason> (...)` per check, which
# scripts/test.sh counts, and exits non-zero if any failed.
#
# Needs root (chroot, mounts) and debootstrap. The root filesystem is `debootstrap
# --variant=minbase` of FRESH_SUITE (default bookworm) from the mirror apt uses here, kept as a
# tarball in ~/.cache/swiftlet/fresh-container (rebuilt after FRESH_MAX_AGE_DAYS, default 30) and
# unpacked anew for every run. Swift is bind-mounted read-only from the host (the directory
# holding `swift`, two levels up), and so is a local Swift package mirror when git's url.*.insteadOf
# settings point at one (as on the project's development machines, which reach no GitHub).
# Environment: FRESH_SUITE, FRESH_MIRROR, FRESH_MAX_AGE_DAYS, FRESH_STEP_TIMEOUT (seconds per
# command, default 600), FRESH_KEEP=1 (keep the unpacked root for a look).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

SUITE=${FRESH_SUITE:-bookworm}
STEP_TIMEOUT=${FRESH_STEP_TIMEOUT:-600}
CACHE="$SWIFTLET_CACHE/fresh-container"
TARBALL="$CACHE/debian-$SUITE-minbase.tar.gz"
START=$(now)
FAILED=0

result() { # NAME ok|FAIL DETAILS...
    local name=$1 verdict=$2
    shift 2
    if [ "$verdict" = ok ]; then
        echo "FRESH $name: ok ($*)"
    else
        echo "FRESH $name: FAIL $*"
        FAILED=1
    fi
}

[ "$(id -u)" = 0 ] || die "needs root (chroot and mounts)"
command -v debootstrap >/dev/null || die "needs debootstrap (apt-get install debootstrap)"
SWIFT_BIN=$(command -v swift) || die "swift is not on PATH"
SWIFT_ROOT=$(dirname "$(dirname "$(dirname "$(realpath "$SWIFT_BIN")")")")

# The Debian mirror apt uses here (so that this works wherever apt works). Exactly one line:
# under pipefail a missing /etc/apt/sources.list once made the fallback print a second URL
# after the found one, and debootstrap got both as one mirror with a newline in it.
mirror() {
    [ -n "${FRESH_MIRROR:-}" ] && { echo "$FRESH_MIRROR"; return; }
    local found
    found=$({ sed -n 's/^URIs: *\(https\?:[^ ]*\/debian\/\?\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null || true
              sed -n 's/^deb \(\[[^]]*\] \)\?\(https\?:[^ ]*\/debian\/\?\) .*/\2/p' /etc/apt/sources.list 2>/dev/null || true
            } | head -n1)
    echo "${found:-http://deb.debian.org/debian}"
}

# debootstrap fetches with wget, which knows nothing of apt's configuration: hand it apt's proxy,
# if apt has one, so that it goes the way apt-get does.
apt_proxy() {
    local http_proxy_from_apt=
    eval "$(apt-config shell http_proxy_from_apt Acquire::http::Proxy 2>/dev/null)" || true
    if [ -n "$http_proxy_from_apt" ] && [ -z "${http_proxy:-}" ]; then
        export http_proxy=$http_proxy_from_apt
        log "debootstrap goes through apt's proxy $http_proxy"
    fi
}

make_tarball() {
    local age_days=${FRESH_MAX_AGE_DAYS:-30} dir
    if [ -f "$TARBALL" ] && [ -z "$(find "$TARBALL" -mtime +"$age_days")" ]; then
        return 0
    fi
    mkdir -p "$CACHE"
    dir=$(mktemp -d "$CACHE/debootstrap.XXXXXX")
    apt_proxy
    log "debootstrap --variant=minbase $SUITE from $(mirror) (cached in $TARBALL)"
    local start; start=$(now)
    # Five tries over about four minutes, for a mirror that does not answer for a moment.
    local try waits=(10 30 60 120)
    for try in 1 2 3 4 5; do
        debootstrap --variant=minbase "$SUITE" "$dir" "$(mirror)" >"$CACHE/debootstrap.log" 2>&1 && break
        if [ $try = 5 ]; then
            tail -n 20 "$CACHE/debootstrap.log" >&2
            rm -rf "$dir"
            die "debootstrap failed five times (log: $CACHE/debootstrap.log)"
        fi
        local wait=${waits[try - 1]}
        log "debootstrap failed (try $try: $(grep -m1 '^E: ' "$CACHE/debootstrap.log" || tail -n1 "$CACHE/debootstrap.log")); again in $wait s"
        rm -rf "$dir" && mkdir -p "$dir"
        sleep "$wait"
    done
    # What a container image leaves out: no package lists (the set-up must fetch them) and no
    # downloaded packages.
    rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/archives/*.deb
    tar -C "$dir" -czf "$TARBALL.new" .
    mv "$TARBALL.new" "$TARBALL"
    rm -rf "$dir"
    log "root filesystem ready in $(elapsed_since "$start") s"
}

ROOT=
MOUNTS=()
cleanup() {
    [ -n "$ROOT" ] || return 0
    # Every process still running in this root (the commands are stopped on purpose).
    local pid
    for pid in $(ls /proc | grep -E '^[0-9]+$'); do
        [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$ROOT" ] && kill -9 "$pid" 2>/dev/null
    done
    sleep 0.5
    local i
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" 2>/dev/null || true
    done
    if findmnt -rn -o TARGET | grep -q "^$ROOT/"; then
        log "something is still mounted under $ROOT; leaving it in place"
        return 0
    fi
    if [ "${FRESH_KEEP:-0}" = 1 ]; then
        log "kept the root filesystem in $ROOT"
    else
        rm -rf "$ROOT"
    fi
}
trap cleanup EXIT

mount_in() { # mount arguments... TARGET (last)
    mount "$@"
    MOUNTS+=("${!#}")
}

prepare_root() {
    ROOT=$(mktemp -d /var/tmp/swiftlet-fresh.XXXXXX)
    tar -C "$ROOT" -xzf "$TARBALL"
    chmod 755 "$ROOT"
    cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
    mount_in -t proc proc "$ROOT/proc"
    mount_in -t sysfs sysfs "$ROOT/sys"
    mount_in -t devtmpfs devtmpfs "$ROOT/dev"
    mount_in -t devpts -o newinstance,ptmxmode=0666 devpts "$ROOT/dev/pts"
    mkdir -p "$ROOT$SWIFT_ROOT"
    mount_in --bind "$SWIFT_ROOT" "$ROOT$SWIFT_ROOT"
    mount -o remount,bind,ro "$ROOT$SWIFT_ROOT"
    # git's url rewrites (a local package mirror instead of github.com), with what they point at.
    local key value target
    while read -r key value; do
        git config --file "$ROOT/etc/gitconfig" --add "$key" "$value"
        target=${key#url.}
        target=${target%.insteadof}
        if [ -d "$target" ] && [ ! -d "$ROOT$target" ]; then
            mkdir -p "$ROOT$target"
            mount_in --bind "$target" "$ROOT$target"
            mount -o remount,bind,ro "$ROOT$target"
        fi
    done < <(git config --get-regexp '^url\..*\.insteadof$' || true)
    # The project as a fresh clone would have it: tracked files and new ones not ignored.
    mkdir -p "$ROOT/src/swiftlet"
    (cd "$REPO_ROOT" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -) | tar -C "$ROOT/src/swiftlet" -xf -
    chroot "$ROOT" useradd -m newcomer
}

# Runs COMMAND in the root as USER with a login-like environment, until its output has a line
# matching STOP_REGEX (then it is stopped) or it exits. Output in $ROOT/tmp/NAME.log. Sets RC
# (the exit status, or "stopped") and SECONDS_TAKEN.
in_root() { # NAME USER STOP_REGEX COMMAND...
    local name=$1 user=$2 stop=$3 home=/root
    shift 3
    [ "$user" = root ] || home=/home/$user
    local log="$ROOT/tmp/$name.log" start pid waited=0
    start=$(now)
    : >"$log"
    setsid chroot --userspec="$user:$user" "$ROOT" /usr/bin/env -i HOME="$home" USER="$user" \
        LANG=C.UTF-8 TERM=dumb PATH="$SWIFT_ROOT/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        sh -c 'cd /src/swiftlet && exec "$@"' sh "$@" </dev/null >"$log" 2>&1 &
    pid=$!
    RC=
    while [ -e "/proc/$pid" ] && [ -z "$RC" ]; do
        if [ -n "$stop" ] && grep -qE "$stop" "$log"; then
            RC=stopped
            kill -- "-$pid" 2>/dev/null
        elif [ $waited -ge $((STEP_TIMEOUT * 2)) ]; then
            RC=timeout
            kill -- "-$pid" 2>/dev/null
        fi
        sleep 0.5
        waited=$((waited + 1))
    done
    if [ -z "$RC" ]; then
        wait "$pid" && RC=0 || RC=$?
    else
        wait "$pid" 2>/dev/null || true
    fi
    SECONDS_TAKEN=$(elapsed_since "$start")
    LOG=$log
}

show_log() { tail -n 15 "$LOG" | sed 's/^/FRESH-LOG | /'; }

# As an ordinary user nothing can be installed: both commands must stop at once with the
# sudo line.
check_nonroot() {
    local script ok=1 details=""
    for script in scripts/test.sh scripts/run-linux.sh; do
        in_root "nonroot-$(basename "$script" .sh)" newcomer "" "$script"
        if [ "$RC" = 0 ] || ! grep -q '^    sudo apt-get install .*qemu-system-x86' "$LOG"; then
            ok=0
            result fresh-nonroot FAIL "$script as a user: status $RC, no 'sudo apt-get install' line ($SECONDS_TAKEN s)"
            show_log
        fi
        details="$details$script $SECONDS_TAKEN s; "
    done
    if [ $ok = 1 ]; then result fresh-nonroot ok "${details%; }"; fi
}

check_run_linux() {
    in_root run-linux root 'building swiftlet' scripts/run-linux.sh
    if [ "$RC" != stopped ]; then
        result fresh-run-linux FAIL "scripts/run-linux.sh ended before building Swiftlet: status $RC ($SECONDS_TAKEN s)"
        show_log
    elif ! grep -q 'set-up ok' "$LOG" || ! grep -q 'kernel: linux-image' "$LOG"; then
        result fresh-run-linux FAIL "no set-up ok or guest kernel line ($SECONDS_TAKEN s)"
        show_log
    else
        result fresh-run-linux ok "$SECONDS_TAKEN s; $(sed -n 's/.*\] set-up ok: \(.*\)/\1/p' "$LOG")"
    fi
}

check_test() {
    in_root test root '^\[[0-9]+/[0-9]+\] Compiling' scripts/test.sh
    if [ "$RC" != stopped ]; then
        result fresh-test FAIL "scripts/test.sh did not reach swift build's compiling: status $RC ($SECONDS_TAKEN s)"
        show_log
    elif ! grep -q 'set-up ok' "$LOG" || ! grep -q 'testguest.elf$' "$LOG"; then
        result fresh-test FAIL "no set-up ok line or no test guest ($SECONDS_TAKEN s)"
        show_log
    else
        result fresh-test ok "$SECONDS_TAKEN s"
    fi
}

make_tarball
prepare_root
log "fresh $SUITE root in $ROOT (Swift from $SWIFT_ROOT)"
check_nonroot
check_run_linux
check_test
log "total $(elapsed_since "$START") s"
exit $FAILED
