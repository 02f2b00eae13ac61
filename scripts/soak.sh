#!/bin/sh
# Soak test (issue 13): one tiny guest (test=count), PAUSES pause/resume cycles, then SNAPSHOTS
# snapshot/restore cycles (each restore in a fresh VMM, the chain continuing from the last
# restore). The guest has a disk, so a virtio device and its thread take part in every pause,
# snapshot and restore. Prints the VMM's open descriptors, threads and RSS at the start and end
# of each phase and fails if they grew by more than FD_BOUND descriptors, THREAD_BOUND threads
# or RSS_BOUND_KIB KiB.
#   scripts/soak.sh [PAUSES] [SNAPSHOTS]      (defaults 1000 and 100)
# SOAK_DISK_OPTIONS is appended to the --disk value (e.g. ",io=async" for the io_uring engine).
set -eu
pauses=${1:-1000}
snapshots=${2:-100}
fd_bound=${FD_BOUND:-2}
thread_bound=${THREAD_BOUND:-2}
rss_bound_kib=${RSS_BOUND_KIB:-8192}
root=$(cd "$(dirname "$0")/.." && pwd)
swiftlet=${SWIFTLET:-$root/.build/debug/swiftlet}
[ -x "$swiftlet" ] || { echo "soak.sh: build first (swift build), or set SWIFTLET" >&2; exit 2; }
guest=$("$root/scripts/build-test-guest.sh" | tail -1)
work=$(mktemp -d /tmp/swiftlet-soak.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT INT TERM

api() { curl -sf --max-time 60 --unix-socket "$work/api.sock" -X "$1" "http://localhost$2" ${3:+-d "$3"} >/dev/null; }
fds() { ls "/proc/$pid/fd" | wc -l; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$pid/status"; }
start() {
    rm -f "$work/api.sock"
    "$swiftlet" run --api-sock "$work/api.sock" --serial-out "$work/console" "$@" 2>>"$work/stderr" &
    pid=$!
    for _ in $(seq 200); do [ -S "$work/api.sock" ] && return 0; sleep 0.05; done
    echo "soak.sh: no API socket" >&2; exit 1
}
check() { # phase fd0 rss0 threads0
    fd1=$(fds); rss1=$(rss); threads1=$(threads)
    echo "$1: fds $2 -> $fd1, threads $4 -> $threads1, RSS $3 -> $rss1 KiB"
    [ $((fd1 - $2)) -le "$fd_bound" ] || { echo "soak.sh: $1 leaked descriptors" >&2; exit 1; }
    [ $((threads1 - $4)) -le "$thread_bound" ] || { echo "soak.sh: $1 left threads behind" >&2; exit 1; }
    [ $((rss1 - $3)) -le "$rss_bound_kib" ] || { echo "soak.sh: $1 grew RSS by $((rss1 - $3)) KiB" >&2; exit 1; }
}

truncate -s 8M "$work/disk.img"
start --kernel "$guest" --cmdline test=count --disk "$work/disk.img${SOAK_DISK_OPTIONS:-}"
sleep 1
api PATCH /vm '{"state": "Paused"}'; api PATCH /vm '{"state": "Resumed"}'  # warm-up cycle
fd0=$(fds); rss0=$(rss); threads0=$(threads)
i=0
while [ $i -lt "$pauses" ]; do
    api PATCH /vm '{"state": "Paused"}'
    api PATCH /vm '{"state": "Resumed"}'
    i=$((i + 1))
done
check "$pauses pause/resume cycles" "$fd0" "$rss0" "$threads0"

# Snapshot/restore: the same VMM takes every snapshot (its descriptors and RSS are watched),
# and every snapshot is restored in a fresh VMM that must come up and keep counting.
fd0=$(fds); rss0=$(rss); threads0=$(threads)
i=0
while [ $i -lt "$snapshots" ]; do
    api PATCH /vm '{"state": "Paused"}'
    api PUT /snapshot/create "{\"snapshot_path\": \"$work/state\", \"mem_file_path\": \"$work/mem\"}"
    api PATCH /vm '{"state": "Resumed"}'
    i=$((i + 1))
done
check "$snapshots snapshots" "$fd0" "$rss0" "$threads0"
kill "$pid"; wait "$pid" 2>/dev/null || true
i=0
while [ $i -lt "$snapshots" ]; do
    start --restore "$work/state" --mem-file "$work/mem"
    before=$(wc -c <"$work/console")
    for _ in $(seq 100); do [ "$(wc -c <"$work/console")" -gt "$before" ] && break; sleep 0.05; done
    [ "$(wc -c <"$work/console")" -gt "$before" ] || { echo "soak.sh: restore $i did not run" >&2; exit 1; }
    api PATCH /vm '{"state": "Paused"}'
    api PUT /snapshot/create "{\"snapshot_path\": \"$work/state\", \"mem_file_path\": \"$work/mem\"}"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    i=$((i + 1))
done
echo "$snapshots restores in fresh VMMs, each continuing the last one's snapshot: ok"
pid=
