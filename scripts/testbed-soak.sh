#!/usr/bin/env bash
# Measures how often the testbed's L1 freezes, and how long its scenarios take, with one or more
# QEMU builds: boots L1 N times per QEMU (alternating between them, so that both see the same
# load on the machine), each boot running the scenarios once with no retry.
#   scripts/testbed-soak.sh [--runs N] [--qemu ROOT]... [--out DIR] [SCENARIO...]
# --qemu ROOT: an unpacked QEMU (dpkg-deb -x of qemu-system-x86, qemu-system-common,
# qemu-system-data and seabios into ROOT), put first on PATH with its own firmware; `system` is
# the installed one (the default). N defaults to 20; the scenarios to all of them.
# Per boot it appends a line to DIR/boots.tsv (default ~/.cache/swiftlet-soak/<date>):
#   qemu version, boot number, froze (yes/no), L1 init and kvm-ready uptimes, total seconds,
#   the longest gap between two L1 heartbeats (L1 uptime, s; 2 normally), then
#   name=result/seconds per scenario
# A gap longer than TESTBED_L1_FROZEN_AFTER (10 s in testbed.sh; the soak's default is 120 s, so
# that it can tell a long stall that ends from a freeze) is what testbed.sh calls frozen.
# and ends with a summary per QEMU (scripts/testbed-soak.sh --summary DIR prints it again).
# It uses its own cache (SWIFTLET_CACHE, default ~/.cache/swiftlet-soak), so that it never holds
# the lock that other testbed runs on the shared cache wait for.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

summary() { # DIR
    awk -F'\t' '
        { q = $1; boots[q]++; if ($3 == "yes") froze[q]++; else total[q] = total[q] " " $6
          if ($7 > 30) stalls[q]++; gaps[q] = gaps[q] " " $7
          for (i = 8; i <= NF; i++) {
              split($i, a, "="); split(a[2], b, "/")
              if (b[1] == "ok") times[q, a[1]] = times[q, a[1]] " " b[2]
              else if (b[1] == "FAIL") fails[q, a[1]]++
              names[a[1]] = 1
          } }
        function stats(list,   n, v, i, j, t, s) {
            n = split(list, v, " "); if (n == 0) return "-"
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
            s = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
            return sprintf("median %.1f s, %.1f-%.1f s (n=%d)", s, v[1], v[n], n)
        }
        END {
            for (q in boots) {
                printf "%s: %d boots, %d froze, %d with a heartbeat gap over 30 s; whole run without freeze: %s\n", q, boots[q], froze[q] + 0, stalls[q] + 0, stats(total[q])
                printf "  %-16s %s\n", "heartbeat gap", stats(gaps[q])
                for (n in names) printf "  %-16s %s%s\n", n, stats(times[q, n]), fails[q, n] ? sprintf(", %d FAIL", fails[q, n]) : ""
            }
        }' "$1/boots.tsv"
}

RUNS=20
QEMUS=()
OUT=
SCENARIOS=()
while [ $# -gt 0 ]; do
    case $1 in
    --runs) RUNS=$2; shift ;;
    --qemu) QEMUS+=("$2"); shift ;;
    --out) OUT=$2; shift ;;
    --summary) summary "$2"; exit 0 ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) SCENARIOS+=("$1") ;;
    esac
    shift
done
[ ${#QEMUS[@]} -gt 0 ] || QEMUS=(system)
export SWIFTLET_CACHE=${SWIFTLET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/swiftlet-soak}
OUT=${OUT:-$SWIFTLET_CACHE/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
[ ${#SCENARIOS[@]} -gt 0 ] || mapfile -t SCENARIOS < <(sh "$here/../guest/linux/testbed/runner.sh" --list)

# One Swiftlet build for every boot (SWIFTLET_BIN set: reuse it).
if [ -z "${SWIFTLET_BIN:-}" ]; then
    source "$here/lib/common.sh"
    build_swiftlet_release
fi
export SWIFTLET_BIN

qemu_env() { # ROOT → sets Q_PATH, Q_EXTRA, Q_NAME
    if [ "$1" = system ]; then
        Q_PATH=$PATH Q_EXTRA=
    else
        local root; root=$(realpath "$1")
        Q_PATH="$root/usr/bin:$PATH"
        Q_EXTRA="-L $root/usr/share/qemu -L $root/usr/share/seabios"
    fi
    Q_NAME=$(PATH=$Q_PATH qemu-system-x86_64 --version | sed -n 's/^QEMU emulator version \([^ ]*\).*/\1/p')
}

echo "soak: ${#QEMUS[@]} QEMU(s) x $RUNS boots, scenarios ${SCENARIOS[*]}; results in $OUT/boots.tsv"
for boot in $(seq "$RUNS"); do
    for q in "${QEMUS[@]}"; do
        qemu_env "$q"
        log="$OUT/boot-$Q_NAME-$boot.log"
        set +e
        PATH=$Q_PATH TESTBED_L1_RETRIES=0 TESTBED_L1_QEMU_EXTRA="$Q_EXTRA ${TESTBED_L1_QEMU_EXTRA:-}" \
            TESTBED_L1_FROZEN_AFTER=${TESTBED_L1_FROZEN_AFTER:-120} \
            "$here/testbed.sh" "${SCENARIOS[@]}" >"$log" 2>&1 </dev/null
        set -e
        cp "$SWIFTLET_CACHE/testbed/console.log" "$OUT/console-$Q_NAME-$boot.log" 2>/dev/null || true
        gap=$(tr -d '\r' <"$SWIFTLET_CACHE/testbed/l1.heartbeat" 2>/dev/null |
            awk 'NR > 1 && $1 - prev > max { max = $1 - prev } { prev = $1 } END { printf "%.1f", max }')
        froze=no
        grep -q 'L1 froze' "$log" && froze=yes
        l1_init=$(sed -n 's/.*L1: init at \([0-9.?]*\) s, kvm ready at \([0-9.?]*\) s.*/\1/p' "$log" | tail -n1)
        kvm=$(sed -n 's/.*L1: init at \([0-9.?]*\) s, kvm ready at \([0-9.?]*\) s.*/\2/p' "$log" | tail -n1)
        total=$(sed -n 's/.*\] total \([0-9.]*\) s;.*/\1/p' "$log" | tail -n1)
        line="$Q_NAME	$boot	$froze	${l1_init:-?}	${kvm:-?}	${total:-?}	$gap"
        for name in "${SCENARIOS[@]}"; do
            r=$(sed -n "s/^TESTBED $name: \(ok\|FAIL\).* (\([0-9.]*\) s.*/\1\/\2/p" "$log" | tail -n1)
            line="$line	$name=${r:-none}"
        done
        printf '%s\n' "$line" >>"$OUT/boots.tsv"
        printf '%s\n' "$line"
    done
done
echo
summary "$OUT"
