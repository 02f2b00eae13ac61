# Helpers for testbed scenarios (POSIX sh: runs under busybox ash inside L1 and under bash or
# dash on a host with real VMX/SVM). runner.sh sources this, then every scenarios/*.sh.
#
# A scenario is a function scenario_<name with '-' as '_'> run in a subshell of its own in a
# fresh directory ($SCENARIO_DIR). It ends with success by returning 0, or calls
# `fail REASON`. `note TEXT` adds a detail (a timing, say) to its result line.
#
# Settings (environment):
#   SWIFTLET                   the swiftlet binary (default: swiftlet on PATH)
#   TESTBED_IMAGES             folder with bzImage, initramfs.cpio.gz, disk.ext4
#   TESTBED_TINY_IMAGES        folder with the tiny kernel's bzImage and initramfs.cpio
#                              (default $TESTBED_IMAGES/tiny; scripts/build-tiny-kernel.sh)
#   TESTBED_WORK               scratch folder for console logs (default /tmp/testbed)
#   TESTBED_L2_KERNEL          kernel to boot instead of $TESTBED_IMAGES/bzImage
#   TESTBED_L2_INITRAMFS       initramfs to use instead of $TESTBED_IMAGES/initramfs.cpio.gz
#   TESTBED_L2_CMDLINE_EXTRA   words appended to every guest kernel command line
#   TESTBED_L2_MEMORY          guest memory in MiB (default 256)
#   TESTBED_SCENARIO_TIMEOUT   seconds one Swiftlet run may take (default 180)
#   TESTBED_TAP                the tap the network scenarios create (default tap0)
#   FIO_DISK_OPTIONS           appended to the disk's path in --disk by linux-disk-fio and bench-fio
#                              (default ",io=async,direct"; set it empty for a Swiftlet without them)
#   TESTBED_PROFILE            where bench-fio's time goes (issue 14; profile_start below):
#                              1 = perf in L1 plus counters, counters = the counters alone, 0 = off
#   TESTBED_PROFILE_FREQUENCY  perf's samples per second (default 499)
#   TESTBED_KVM_TRACE          1 = record L1 KVM's exits and injected exceptions (ftrace) during each
#                              scenario and print the last TESTBED_KVM_TRACE_LINES (default 150) of a
#                              failed one: what the guest did before a triple fault (kvm_trace_* below);
#                              npf = record only the NPFs taken in the guest's own page walk and note
#                              how many each scenario had, failed or not

SWIFTLET=${SWIFTLET:-swiftlet}
TESTBED_IMAGES=${TESTBED_IMAGES:-/testbed/images}
TESTBED_WORK=${TESTBED_WORK:-/tmp/testbed}
TESTBED_TINY_IMAGES=${TESTBED_TINY_IMAGES:-$TESTBED_IMAGES/tiny}
TESTBED_L2_MEMORY=${TESTBED_L2_MEMORY:-256}
TESTBED_SCENARIO_TIMEOUT=${TESTBED_SCENARIO_TIMEOUT:-180}
TESTBED_TAP=${TESTBED_TAP:-tap0}
# Kept when set but empty (hence `-`, not `:-`).
FIO_DISK_OPTIONS=${FIO_DISK_OPTIONS-,io=async,direct}
TESTBED_PROFILE=${TESTBED_PROFILE:-0}
TESTBED_PROFILE_FREQUENCY=${TESTBED_PROFILE_FREQUENCY:-499}
TESTBED_KVM_TRACE=${TESTBED_KVM_TRACE:-0}
TESTBED_KVM_TRACE_LINES=${TESTBED_KVM_TRACE_LINES:-150}

# The guest's network: the tap's end (L1, or the host in direct mode) and the guest on one /24.
# guest/linux/init's defaults are the same, so a guest booted by hand on such a tap works too.
TESTBED_HOST_ADDRESS=172.30.0.1
TESTBED_GUEST_ADDRESS=172.30.0.2
TESTBED_NET_PREFIX=24

# The guest's kernel command line, as short as Swiftlet's ACPI tables allow. What the tables
# made unnecessary: pci=conf1 (the DSDT's PCI host bridge tells Linux where bus 0 is),
# i8042.nopnp (the FADT says an i8042 is present, so Linux probes it directly when ACPI
# lists no PNP keyboard) and reboot=k (Linux reboots a hardware-reduced ACPI machine without
# EFI by jumping to the BIOS reset vector, where Swiftlet's stub writes the FADT's reset
# register; Swiftlet exits 0 on it). What remains, and why:
#   console=ttyS0 earlyprintk=serial  the console is COM1; early messages show boot failures
#   panic=-1      a panic reboots at once, so a broken guest ends its run instead of timing out
#   i8042.noaux i8042.nomux i8042.dumbkbd  spare Linux probing what Swiftlet's i8042 does
#                 not model (a mouse port, active multiplexing) and setting keyboard LEDs;
#                 they do not depend on ACPI either way
#   noxsave       a workaround for the emulated L1, not for Swiftlet: now and then (2 of about
#                 30 boots on 2026-12-03, both under heavy host load) the guest's CPUID still
#                 reported the XSAVE size of XCR0=1 after the guest had set XCR0 to 7, Linux
#                 printed "XSAVE consistency problem: size 832 != kernel_size 576", and the guest
#                 hung or triple-faulted while printing that warning. Without XSAVE, Linux
#                 never writes XCR0 and saves FPU state with FXSAVE. On a host with real
#                 VMX/SVM the guest boots with XSAVE (the tiny guest and run-linux.sh do not add it).
# No acpi=off: Debian's kernel lacks CONFIG_X86_MPPARSE and would switch its local APIC off.
GUEST_BASE_CMDLINE="console=ttyS0 earlyprintk=serial panic=-1 i8042.noaux i8042.nomux i8042.dumbkbd noxsave"

now() { cut -d' ' -f1 /proc/uptime; }
seconds_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

note() { printf '%s\n' "$*" >>"$SCENARIO_DIR/notes"; }
fail() {
    printf '%s\n' "$*" >"$SCENARIO_DIR/reason"
    exit 1
}

guest_kernel() { printf '%s\n' "${TESTBED_L2_KERNEL:-$TESTBED_IMAGES/bzImage}"; }
guest_initramfs() { printf '%s\n' "${TESTBED_L2_INITRAMFS:-$TESTBED_IMAGES/initramfs.cpio.gz}"; }
guest_disk() { printf '%s\n' "$TESTBED_IMAGES/disk.ext4"; }
guest_cmdline() { # GUEST_SCENARIO (the swiftlet.test= of guest/linux/init)
    printf '%s swiftlet.test=%s %s\n' "$GUEST_BASE_CMDLINE" "$1" "${TESTBED_L2_CMDLINE_EXTRA:-}"
}

# For a scenario whose guest runs fio or e2fsck: boots the guest's initramfs followed by
# fio.cpio.gz (scripts/build-guest.sh says why they are apart; the kernel unpacks both), from a
# copy in the scenario folder, with at least 512 MiB, as the two unpack to about 90 MiB.
use_fio_guest() {
    fio_archive="$TESTBED_IMAGES/fio.cpio.gz"
    [ -f "$fio_archive" ] || fail "no $fio_archive (scripts/build-guest.sh builds it; scripts/testbed.sh packs it into L1 for scenarios named *fio*)"
    cat "$(guest_initramfs)" "$fio_archive" >"$SCENARIO_DIR/initramfs-fio.cpio.gz" ||
        fail "cannot append $fio_archive to $(guest_initramfs)"
    TESTBED_L2_INITRAMFS="$SCENARIO_DIR/initramfs-fio.cpio.gz"
    [ "$TESTBED_L2_MEMORY" -ge 512 ] || TESTBED_L2_MEMORY=512
}

# Sets DIRECT_IO_DIR to a folder whose files take O_DIRECT, for a disk image that the VMM opens
# with it (Swiftlet's `direct`, QEMU's cache=none): the scenario's own folder if it can, else an
# ext4 filesystem on a RAM disk of MIB MiB (brd: L1's tmpfs refuses O_DIRECT before Linux 6.6),
# made by e2fsprogs' mke2fs (L1 carries it as mkfs.ext4), unmounted and unloaded again when the
# scenario ends. DIRECT_IO_WHERE says which, for a note.
direct_io_folder() { # MIB
    DIRECT_IO_DIR=$SCENARIO_DIR DIRECT_IO_WHERE="image in the scenario's folder"
    dd if=/dev/zero of=direct.probe bs=4096 count=1 oflag=direct 2>/dev/null && { rm -f direct.probe; return; }
    rm -f direct.probe
    rmmod brd 2>/dev/null
    insmod /lib/modules/brd.ko rd_nr=1 rd_size=$(($1 * 1024)) ||
        fail "$SCENARIO_DIR takes no O_DIRECT and brd (a RAM disk) would not load"
    trap 'umount "$SCENARIO_DIR/ext4" 2>/dev/null; rmmod brd 2>/dev/null' EXIT
    mkdir -p ext4 && mkfs.ext4 -q -F /dev/ram0 >mkfs.out 2>&1 && mount -t ext4 /dev/ram0 ext4 ||
        fail "cannot make an ext4 filesystem on /dev/ram0: $(cat mkfs.out)"
    DIRECT_IO_DIR=$SCENARIO_DIR/ext4
    DIRECT_IO_WHERE="image on ext4 on a RAM disk in L1 (L1's tmpfs takes no O_DIRECT)"
}

# Creates TESTBED_TAP, persistent (so a restored Swiftlet process can reopen it by name), with
# the host address, and brings it up. busybox's applets, not iproute2's, so that L1 and a host
# behave alike. Needs CAP_NET_ADMIN: L1's init is root; directly on a host, run as root. Refuses
# a tap that exists already rather than reconfigure someone else's. The reason goes to stderr.
create_tap() {
    if [ -e "/sys/class/net/$TESTBED_TAP" ]; then
        echo "$TESTBED_TAP exists already (TESTBED_TAP=NAME picks another)" >&2
        return 1
    fi
    busybox tunctl -t "$TESTBED_TAP" >/dev/null &&
        busybox ip addr add "$TESTBED_HOST_ADDRESS/$TESTBED_NET_PREFIX" dev "$TESTBED_TAP" &&
        busybox ip link set "$TESTBED_TAP" up
}

remove_tap() { busybox tunctl -d "$TESTBED_TAP" >/dev/null 2>&1; }

# The guest's kernel command line words for its address and peer.
guest_network_words() {
    printf 'swiftlet.ip=%s/%s swiftlet.peer=%s\n' "$TESTBED_GUEST_ADDRESS" "$TESTBED_NET_PREFIX" "$TESTBED_HOST_ADDRESS"
}

# For a scenario whose guest has a network: creates the tap (removed again when the scenario's
# subshell exits), gives the guest its address, and sets NET_OPTION to Swiftlet's `--net`.
use_network() {
    create_tap 2>tap.err || fail "cannot create the tap $TESTBED_TAP: $(cat tap.err)"
    trap remove_tap EXIT
    TESTBED_L2_CMDLINE_EXTRA="${TESTBED_L2_CMDLINE_EXTRA:-} $(guest_network_words)"
    NET_OPTION="--net tap=$TESTBED_TAP"
}

# Pings the guest COUNT times from this side, 5 a second. Sets PING_SUMMARY to busybox's summary
# and round-trip lines; returns 0 only when every ping was answered.
ping_guest() { # COUNT
    PING_SUMMARY=$(busybox ping -c "$1" -i 0.2 -W 5 "$TESTBED_GUEST_ADDRESS" 2>&1 |
        grep -E 'packets transmitted|round-trip' | tr '\n' ' ')
    case $PING_SUMMARY in *"$1 packets transmitted, $1 packets received, 0% packet loss"*) return 0 ;; esac
    return 1
}

# Reads stdin to its end and writes `BYTES MD5` to FILE.
measure_stream() { # FILE
    rm -f "$1.fifo"
    mkfifo "$1.fifo"
    wc -c <"$1.fifo" >"$1.bytes" &
    counter=$!
    tee "$1.fifo" | md5sum | cut -d' ' -f1 >"$1.md5"
    wait "$counter"
    echo "$(tr -d ' ' <"$1.bytes") $(cat "$1.md5")" >"$1"
}

# The serial console goes to $CONSOLE, Swiftlet's own messages to $SWIFTLET_ERR.
CONSOLE_NAME=console.log
ERR_NAME=swiftlet.err

# Runs Swiftlet to the end with the default guest and GUEST_SCENARIO, under the scenario
# timeout. Extra arguments go to `swiftlet run`. Sets SWIFTLET_RC, SWIFTLET_SECONDS, TIMED_OUT.
run_swiftlet() { # GUEST_SCENARIO [swiftlet run arguments...]
    guest_scenario=$1
    shift
    CONSOLE="$SCENARIO_DIR/$CONSOLE_NAME"
    SWIFTLET_ERR="$SCENARIO_DIR/$ERR_NAME"
    started=$(now)
    timeout "$TESTBED_SCENARIO_TIMEOUT" "$SWIFTLET" run --kernel "$(guest_kernel)" \
        --initrd "$(guest_initramfs)" --memory "$TESTBED_L2_MEMORY" \
        --cmdline "$(guest_cmdline "$guest_scenario")" "$@" \
        </dev/null >"$CONSOLE" 2>"$SWIFTLET_ERR"
    SWIFTLET_RC=$?
    finish_timing "$started"
}

# Runs `swiftlet ARGUMENTS...` in the background under the scenario timeout, its stdin on a FIFO
# (so the scenario can type into the guest's console with `type_line`), its console and stderr
# in the scenario folder's CONSOLE_FILE and ERR_FILE. Sets CONSOLE, SWIFTLET_ERR, SWIFTLET_PID
# and started.
launch_swiftlet() { # CONSOLE_FILE ERR_FILE [swiftlet arguments...]
    CONSOLE="$SCENARIO_DIR/$1"
    SWIFTLET_ERR="$SCENARIO_DIR/$2"
    shift 2
    rm -f "$SCENARIO_DIR/stdin"
    mkfifo "$SCENARIO_DIR/stdin" || fail "mkfifo failed"
    : >"$CONSOLE"
    started=$(now)
    timeout "$TESTBED_SCENARIO_TIMEOUT" "$SWIFTLET" "$@" <"$SCENARIO_DIR/stdin" >"$CONSOLE" 2>"$SWIFTLET_ERR" &
    SWIFTLET_PID=$!
    # Held open for the whole run: Swiftlet sees end-of-file only when the scenario is done.
    exec 3>"$SCENARIO_DIR/stdin"
}

# Starts Swiftlet with the default guest and GUEST_SCENARIO in the background (launch_swiftlet).
# End with `wait_swiftlet`.
start_swiftlet() { # GUEST_SCENARIO [swiftlet run arguments...]
    guest_scenario=$1
    shift
    launch_swiftlet "$CONSOLE_NAME" "$ERR_NAME" run --kernel "$(guest_kernel)" \
        --initrd "$(guest_initramfs)" --memory "$TESTBED_L2_MEMORY" \
        --cmdline "$(guest_cmdline "$guest_scenario")" "$@"
}

type_line() { printf '%s\n' "$*" >&3; }

wait_swiftlet() {
    exec 3>&-
    wait "$SWIFTLET_PID"
    SWIFTLET_RC=$?
    finish_timing "$started"
}

finish_timing() { # START
    SWIFTLET_SECONDS=$(seconds_between "$1" "$(now)")
    TIMED_OUT=0
    # busybox and coreutils `timeout` report a timeout with different codes; the clock does not.
    awk -v s="$SWIFTLET_SECONDS" -v t="$TESTBED_SCENARIO_TIMEOUT" 'BEGIN { exit !(s + 0.5 >= t) }' && TIMED_OUT=1
    note "swiftlet ran ${SWIFTLET_SECONDS} s"
}

# Waits until the console holds a line matching the extended regexp PATTERN (carriage returns
# ignored). Gives up when Swiftlet exits or after SECONDS. Returns 0 when it appeared.
wait_for_console() { # PATTERN SECONDS
    deadline=$(awk -v n="$(now)" -v s="$2" 'BEGIN { print n + s }')
    while :; do
        tr -d '\r' <"$CONSOLE" | grep -Eq -- "$1" && return 0
        [ -n "${SWIFTLET_PID:-}" ] && ! kill -0 "$SWIFTLET_PID" 2>/dev/null && {
            tr -d '\r' <"$CONSOLE" | grep -Eq -- "$1"
            return
        }
        awk -v n="$(now)" -v d="$deadline" 'BEGIN { exit !(n >= d) }' && return 1
        sleep 0.1
    done
}

console_has() { tr -d '\r' <"$CONSOLE" | grep -Eq -- "$1"; }

# The most telling reason a run went wrong, from what Swiftlet and the guest printed.
diagnose() {
    panic=$(tr -d '\r' <"$CONSOLE" | grep -m1 -E 'Kernel panic|BUG:|Oops' | sed 's/^\[ *[0-9.]*\] //')
    # Swiftlet's own error line if it wrote one (a usage hint may follow it), else its last line.
    err=$(grep -i -m1 -E 'error|fatal' "$SWIFTLET_ERR" 2>/dev/null)
    [ -n "$err" ] || err=$(grep -v '^[[:space:]]*$' "$SWIFTLET_ERR" 2>/dev/null | tail -n1)
    if [ "$TIMED_OUT" = 1 ]; then
        printf 'timed out after %s s' "$TESTBED_SCENARIO_TIMEOUT"
        [ -n "$panic" ] && printf '; guest: %s' "$panic"
        [ -n "$err" ] && printf '; swiftlet: %s' "$err"
        last=$(tr -d '\r' <"$CONSOLE" | grep -v '^[[:space:]]*$' | tail -n1)
        [ -n "$last" ] && printf '; last console line: %s' "$last"
    elif [ -n "$panic" ]; then
        printf 'guest %s' "$panic"
    elif [ "$SWIFTLET_RC" != 0 ]; then
        printf 'swiftlet exited %s' "$SWIFTLET_RC"
        [ -n "$err" ] && printf ': %s' "$err"
    elif [ ! -s "$CONSOLE" ]; then
        printf 'no console output from the guest'
    else
        printf 'last console line: %s' "$(tr -d '\r' <"$CONSOLE" | grep -v '^[[:space:]]*$' | tail -n1)"
    fi
    echo
}

# Fails with the diagnosis unless MARKER (a SWIFTLET-GUEST: line) appeared on the console.
expect_marker() { # TEXT
    console_has "^SWIFTLET-GUEST: $1" || fail "no '$1' marker: $(diagnose)"
}

# Fails unless Swiftlet ended by itself with status 0 (the guest rebooted).
expect_clean_exit() {
    [ "$TIMED_OUT" = 0 ] && [ "$SWIFTLET_RC" = 0 ] || fail "$(diagnose)"
}

# Records the guest's uptime when its init started (printed by guest/linux/init).
note_init_time() {
    t=$(tr -d '\r' <"$CONSOLE" | sed -n 's/^SWIFTLET-GUEST: init reached, uptime \([0-9.]*\) s.*/\1/p' | head -n1)
    [ -n "$t" ] && note "init at ${t} s guest uptime"
}

# Waits for the guest shell's prompt, or stops Swiftlet and fails.
shell_prompt_or_fail() {
    wait_for_console '^SWIFTLET-GUEST: shell ready' "$TESTBED_SCENARIO_TIMEOUT" && wait_for_console 'swiftlet-guest# ' 30 ||
        stop_and_fail "no shell prompt: $(diagnose)"
}

# Ends a background Swiftlet (started by start_swiftlet or by hand) with SIGNAL and reaps it.
# coreutils' `timeout` runs Swiftlet as its child, busybox's execs it in place; either way the
# signal must reach Swiftlet itself (a SIGKILLed `timeout` would leave Swiftlet running).
kill_swiftlet() { # SIGNAL
    child=$(awk -v parent="$SWIFTLET_PID" '$4 == parent && $2 == "(swiftlet)" { print $1 }' /proc/[0-9]*/stat 2>/dev/null | head -n1)
    kill "-$1" "${child:-$SWIFTLET_PID}" 2>/dev/null
    exec 3>&- 2>/dev/null
    wait "$SWIFTLET_PID" 2>/dev/null
    SWIFTLET_RC=$?
}

# Pauses the Swiftlet behind API, snapshots it to vm.state and vm.mem in the scenario folder and
# ends that process, keeping its console so far as before.log. Sets SNAPSHOT_SECONDS.
snapshot_and_kill() { # API
    "$SWIFTLET" pause --api-sock "$1" >pause.out 2>&1 || stop_and_fail "pause failed: $(cat pause.out)"
    cp "$CONSOLE" before.log
    snapshot_started=$(now)
    "$SWIFTLET" snapshot --api-sock "$1" --state "$SCENARIO_DIR/vm.state" --mem-file "$SCENARIO_DIR/vm.mem" >snapshot.out 2>&1 ||
        stop_and_fail "snapshot failed: $(cat snapshot.out)"
    SNAPSHOT_SECONDS=$(seconds_between "$snapshot_started" "$(now)")
    kill_swiftlet TERM
}

# Restores what snapshot_and_kill saved in a fresh Swiftlet process, in the background like
# start_swiftlet (stdin on a FIFO for type_line), its console in restored.log. Sets
# RESTORE_STARTED; end with kill_swiftlet or wait_swiftlet.
restore_in_fresh_process() {
    launch_swiftlet restored.log restored.err run --restore "$SCENARIO_DIR/vm.state" --mem-file "$SCENARIO_DIR/vm.mem"
    RESTORE_STARTED=$started
}

# Stops a background Swiftlet, then fails with REASON.
stop_and_fail() { # REASON
    kill_swiftlet TERM
    fail "$1"
}

# The numbers of the complete `count N` lines in FILE. A pause may land mid-line, so a last
# line without its newline is not a line yet.
complete_counts() { # FILE
    partial=0
    [ -n "$(tail -c1 "$1")" ] && partial=1
    tr -d '\r' <"$1" | awk -v partial="$partial" '
        { line[NR] = $0 }
        END { for (i = 1; i <= NR - partial; i++) if (line[i] ~ /^count [0-9]+$/) print substr(line[i], 7) }'
}

# bench-smp-boot1 and bench-smp-boot4: linux-boot's guest with CPUS vCPUs, both in the same
# 4-vCPU L1. The note says how many CPUs the guest brought up, so a run whose APs never came
# online cannot pass for a fast 4-vCPU boot.
bench_smp_boot() { # CPUS
    run_swiftlet boot --cpus "$1"
    note_init_time
    expect_marker "init reached"
    online=$(tr -d '\r' <"$CONSOLE" | grep -m1 -o 'smp: Brought up [0-9]* node[s]*, [0-9]* CPU' | grep -o '[0-9]* CPU$')
    [ "$online" = "$1 CPU" ] || fail "the guest brought up '${online:-no}' CPUs, not $1"
    note "$online online"
    expect_clean_exit
}

# Profiles (TESTBED_PROFILE; issue 14 asks where the time of the fio rows goes, from a profile).
# A scenario frames one measured job with `profile_start NAME` and `profile_stop NAME` while the
# VMM runs, and prints what was found with `profile_report NAME REQUESTS` once the VMM has
# exited (so that perf's report competes with nothing), as lines
#   TESTBED-PROFILE <scenario> <NAME> | ...
# which scripts/testbed.sh also gathers into ~/.cache/swiftlet/testbed/profile-<vmm>.txt.
# Two kinds of evidence:
#  - counters (TESTBED_PROFILE=counters or 1), read before and after the job, so free while it
#    runs: each VMM thread's CPU time, context switches and the system call it sits in (which
#    tells the threads apart; Swiftlet does not name them), L1's KVM exit counters (debugfs),
#    and L1's CPU split (/proc/stat, whose `guest` column is the time the L2 vCPU spent in guest
#    mode). A scenario may append more `NAME VALUE...` lines (the guest's own counts) to
#    NAME.counters-before and NAME.counters-after; `guest_irq` and `guest_cpu` are understood.
#  - with TESTBED_PROFILE=1, a system-wide `perf record -e cpu-clock -g` (TCG emulates no PMU,
#    so a timer samples; frame-pointer call chains, DWARF's would be too heavy under TCG).
#    System-wide rather than -p: L1 has one vCPU, shared by the L2 vCPU, the VMM's threads and
#    L1's own kernel work (io_uring, ext4, the RAM disk), so all of L1 is what a job costs; the
#    VMM's own view is the same data filtered with --pid.
# perf comes into L1 only when TESTBED_PROFILE=1 (scripts/testbed.sh), as `perf` on PATH.

# The VMM's process: SWIFTLET_PID itself, which busybox's `timeout` and the QEMU stand-in become
# by exec, or its child under coreutils' `timeout` (as in kill_swiftlet).
vmm_pid() {
    if [ "$(cat "/proc/$SWIFTLET_PID/comm" 2>/dev/null)" = timeout ]; then
        awk -v parent="$SWIFTLET_PID" '$4 == parent { print $1 }' /proc/[0-9]*/stat 2>/dev/null | head -n1
    else
        echo "$SWIFTLET_PID"
    fi
}

# Adds the counters of the moment to FILE: `thread TID TICKS VOLUNTARY INVOLUNTARY SYSCALL COMM`
# per VMM thread (utime + stime in clock ticks; SYSCALL the first word of /proc/.../syscall, a
# number or `running`; COMM its name, spaces as _), `kvm NAME COUNT` for L1's KVM statistics and `cpu ...` for /proc/stat's
# first line.
profile_counters() { # FILE
    pid=$(vmm_pid)
    for task in /proc/"$pid"/task/*; do
        [ -r "$task/stat" ] || continue
        # stat's fields after the command name, which may hold spaces: utime and stime are the
        # 12th and 13th.
        ticks=$(sed 's/^.*) //' "$task/stat" | awk '{ print $12 + $13 }')
        switches=$(awk '$1 == "voluntary_ctxt_switches:" { v = $2 } $1 == "nonvoluntary_ctxt_switches:" { n = $2 } END { print v + 0, n + 0 }' "$task/status")
        call=$(cut -d' ' -f1 "$task/syscall" 2>/dev/null)
        echo "thread ${task##*/} $ticks $switches ${call:-?} $(tr ' ' _ <"$task/comm")"
    done >>"$1"
    for stat in exits io_exits mmio_exits irq_exits halt_exits halt_wakeup irq_injections irq_window_exits signal_exits request_irq_exits; do
        [ -r "/sys/kernel/debug/kvm/$stat" ] && echo "kvm $stat $(cat "/sys/kernel/debug/kvm/$stat")"
    done >>"$1"
    head -n1 /proc/stat >>"$1"
}

# Starts counting (and with TESTBED_PROFILE=1 sampling) for the job NAME; a no-op when off.
profile_start() { # NAME
    [ "$TESTBED_PROFILE" != 0 ] || return 0
    # L1 only (its init sets TESTBED_IMAGES so): KVM's counters are in debugfs, and perf should
    # see kernel symbols. Directly on a host, its own settings are left alone.
    if [ "$TESTBED_IMAGES" = /testbed/images ]; then
        [ -d /sys/kernel/debug/kvm ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
        echo 0 >/proc/sys/kernel/kptr_restrict 2>/dev/null
        echo -1 >/proc/sys/kernel/perf_event_paranoid 2>/dev/null
    fi
    vmm_pid >"$SCENARIO_DIR/$1.vmm-pid"
    PROFILE_PERF_PID=
    if [ "$TESTBED_PROFILE" = 1 ]; then
        if command -v perf >/dev/null 2>&1; then
            # --no-buildid: no pass over every binary when the recording ends.
            HOME=${HOME:-/tmp} perf record -e cpu-clock -F "$TESTBED_PROFILE_FREQUENCY" -g -a --no-buildid \
                -o "$SCENARIO_DIR/$1.perf.data" >"$SCENARIO_DIR/$1.perf.out" 2>&1 &
            PROFILE_PERF_PID=$!
            # Its start (synthesising every process's maps) is slow under TCG; let it settle
            # before the job begins.
            sleep 1
        else
            echo "no perf on PATH (scripts/testbed.sh copies it into L1 when TESTBED_PROFILE=1)" >"$SCENARIO_DIR/$1.perf.out"
        fi
    fi
    profile_counters "$SCENARIO_DIR/$1.counters-before"
}

profile_stop() { # NAME
    [ "$TESTBED_PROFILE" != 0 ] || return 0
    profile_counters "$SCENARIO_DIR/$1.counters-after"
    [ -n "$PROFILE_PERF_PID" ] || return 0
    kill -INT "$PROFILE_PERF_PID" 2>/dev/null
    wait "$PROFILE_PERF_PID"
}

# Prints the counters' differences over the job NAME, per request where that means something
# (REQUESTS: how many the guest completed), then perf's reports.
profile_report() { # NAME REQUESTS
    [ "$TESTBED_PROFILE" != 0 ] || return 0
    name=$1
    {
        profile_counter_lines "$SCENARIO_DIR/$name.counters-before" "$SCENARIO_DIR/$name.counters-after" "$2"
        [ "$TESTBED_PROFILE" = 1 ] && profile_perf_lines "$name"
    } 2>&1 | awk -v prefix="TESTBED-PROFILE ${SCENARIO_DIR##*/} $name | " '{ sub(/[ \t]+$/, ""); print prefix $0 }'
}

profile_counter_lines() { # BEFORE AFTER REQUESTS
    awk -v requests="$3" -v hz="$(getconf CLK_TCK 2>/dev/null || echo 100)" '
        # x86-64 system call numbers a VMM thread waits in.
        BEGIN {
            split("0 read 1 write 7 poll 16 ioctl 23 select 202 futex 232 epoll_wait 271 ppoll 281 epoll_pwait 426 io_uring_enter 441 epoll_pwait2", w)
            for (i = 1; i in w; i += 2) call[w[i]] = w[i + 1]
        }
        function per(n) { return requests > 0 ? sprintf("%.2f", n / requests) : "?" }
        # Threads and KVM statistics are named by their second word, the rest by their first.
        { key = $1 == "thread" || $1 == "kvm" ? $1 " " $2 : $1 }
        FNR == NR { before[key] = $0; next }
        {
            split(before[key], b)
            if ($1 == "thread") {
                threads[++nthreads] = sprintf("%s %d %d %d %s %s", $2, $3 - b[3], $4 - b[4], $5 - b[5], $6 in call ? call[$6] : $6, $7)
            } else if ($1 == "kvm") {
                kvm[++nkvm] = $2; kvmdelta[$2] = $3 - b[3]
            } else if ($1 == "cpu") {
                # user nice system idle iowait irq softirq steal guest guest_nice; guest time is
                # counted in user too.
                for (i = 2; i <= 11; i++) c[i] = $i - b[i]
                total = c[2] + c[3] + c[4] + c[5] + c[6] + c[7] + c[8] + c[9]
            } else if ($1 == "guest_irq") {
                guestirq = $2 - b[2]
            } else if ($1 == "guest_cpu") {
                for (i = 3; i <= 10; i++) g[i] = $i - b[i]
                gtotal = g[3] + g[4] + g[5] + g[6] + g[7] + g[8] + g[9] + g[10]
            }
        }
        END {
            printf "requests completed by the guest: %d\n", requests
            if (total > 0) {
                seconds = total / hz
                printf "L1 CPU, %.1f CPU-seconds: L2 guest mode %.1f%%, user (VMM, perf, shell) %.1f%%, kernel %.1f%%, irq+softirq %.1f%%, idle %.1f%%\n", seconds,
                    100 * c[10] / total, 100 * (c[2] + c[3] - c[10] - c[11]) / total, 100 * c[4] / total, 100 * (c[7] + c[8]) / total, 100 * (c[5] + c[6]) / total
            }
            line = ""
            for (i = 1; i <= nkvm; i++) line = line sprintf("%s%s %s", i > 1 ? ", " : "", kvm[i], per(kvmdelta[kvm[i]]))
            if (nkvm) printf "L1 KVM per request: %s\n", line
            if (guestirq != "") printf "L2 guest: virtio request-queue interrupts per request %s\n", per(guestirq)
            if (gtotal > 0)
                printf "L2 guest CPU: user %.1f%%, system %.1f%%, idle %.1f%%, irq+softirq %.1f%%\n",
                    100 * (g[3] + g[4]) / gtotal, 100 * g[5] / gtotal, 100 * (g[6] + g[7]) / gtotal, 100 * (g[8] + g[9]) / gtotal
            for (i = 1; i <= nthreads; i++) {
                split(threads[i], t, " ")
                if (t[2] == 0 && t[3] + t[4] == 0) continue
                printf "VMM thread %s (%s): CPU %.2f s%s, context switches per request %s (%d voluntary, %d involuntary), in %s at the end\n",
                    t[1], t[6], t[2] / hz, (total > 0 ? sprintf(" (%.1f%% of L1)", 100 * t[2] / total) : ""), per(t[3] + t[4]), t[3], t[4], t[5]
            }
        }' "$1" "$2"
}

profile_perf_lines() { # NAME
    data="$SCENARIO_DIR/$1.perf.data"
    if [ ! -s "$data" ]; then
        echo "no perf data: $(tail -n3 "$SCENARIO_DIR/$1.perf.out" 2>/dev/null | tr '\n' ' ')"
        return
    fi
    pid=$(cat "$SCENARIO_DIR/$1.vmm-pid" 2>/dev/null)
    grep -v '^\[ perf record' "$SCENARIO_DIR/$1.perf.out" | head -n5
    # `perf kvm --host --guest report` rather than `perf report`: KVM marks the samples taken
    # while the L2 vCPU ran in guest mode as the guest's, and plain `perf report` leaves them out
    # of its lists (though not of its totals) and keeps or drops a thread's whole line by the
    # kind of its first sample. With --guest they are listed ([g]), by address (perf kvm's
    # --guestkallsyms named none of them in L1); name_guest_symbols names them. Plain
    # `perf report` if perf kvm fails.
    for PERF_KVM in "kvm --host --guest" ""; do
        HOME=${HOME:-/tmp} perf $PERF_KVM report -i "$data" --stdio --no-children -g none --sort comm,dso --percent-limit 1 >"$data.comm" 2>/dev/null
        grep -q '%' "$data.comm" && break
    done
    echo "perf${PERF_KVM:+ $PERF_KVM}: $(grep -m1 '^# Samples' "$data.comm" | sed 's/^# //'), $(grep -m1 '^# Total Lost' "$data.comm" | sed 's/^# //')"
    # Flat profiles (self time, call chains left out), in percent of all of L1's samples.
    report() {
        HOME=${HOME:-/tmp} perf $PERF_KVM report -i "$data" --stdio --no-children -g none --percentage absolute "$@" 2>/dev/null |
            grep -v -e '^#' -e '^$' | name_guest_symbols
    }
    echo "-- all of L1 by command and binary --"
    grep -v -e '^#' -e '^$' "$data.comm" | head -n 15
    echo "-- all of L1 by command, binary and symbol --"
    report --sort comm,dso,symbol --percent-limit 0.4 | head -n 40
    [ -n "$pid" ] || return 0
    echo "-- the VMM (pid $pid) by thread --"
    report --pid "$pid" --sort pid --percent-limit 0.2 | head -n 15
    echo "-- the VMM by thread and symbol --"
    report --pid "$pid" --sort pid,dso,symbol --percent-limit 0.4 | head -n 40
    # With callees (frame-pointer chains): the system calls and kernel paths the VMM's time went to.
    echo "-- the VMM by symbol, callees included --"
    HOME=${HOME:-/tmp} perf $PERF_KVM report -i "$data" --stdio --children -g none --percentage absolute --pid "$pid" --sort symbol --percent-limit 1.5 2>/dev/null |
        grep -v -e '^#' -e '^$' | head -n 45
}

# Adds the function's name to each guest kernel address (`[g] 0xffffffff8...`) in perf's lines.
# L1 and the guest boot the same kernel image, both with nokaslr when profiling
# (scripts/testbed.sh, bench-fio), so L1's kallsyms names the guest's kernel too; its modules
# are left out, as the guest has others (its virtio modules stay addresses). Lines pass
# unchanged without nokaslr. Kernel text addresses are 16 hex digits, so comparing them as
# strings orders them as numbers (awk's doubles could not hold them).
name_guest_symbols() {
    if ! grep -qw nokaslr /proc/cmdline || [ ! -r /proc/kallsyms ]; then
        cat
        return
    fi
    [ -s "$SCENARIO_DIR/guest.kallsyms" ] ||
        awk '$1 ~ /^ffffffff8/ && $3 !~ /^\[/ && NF == 3 { print $1, $3 }' /proc/kallsyms | sort >"$SCENARIO_DIR/guest.kallsyms"
    awk '
        NR == FNR { address[++n] = $1 ""; name[n] = $2; next }
        match($0, /\[[gu]\] 0xffffffff8[0-9a-f]+/) {
            wanted = substr($0, RSTART + 6, RLENGTH - 6) ""
            low = 1; high = n; found = 0
            while (low <= high) {
                middle = int((low + high) / 2)
                if (address[middle] <= wanted) { found = middle; low = middle + 1 } else high = middle - 1
            }
            if (found) $0 = substr($0, 1, RSTART + RLENGTH - 1) " " name[found] substr($0, RSTART + RLENGTH)
        }
        { print }' "$SCENARIO_DIR/guest.kallsyms" -
}

# L1 KVM's own view of a guest that dies (TESTBED_KVM_TRACE=1). On SVM a triple fault
# reinitialises the VMCB before Swiftlet hears of it (rip 0xfff0), so the registers are gone;
# ftrace's ring buffer still has the exits and the exceptions KVM injected just before.
KVM_TRACE_ROOT=/sys/kernel/tracing

kvm_trace_start() {
    [ "$TESTBED_KVM_TRACE" = 1 ] || [ "$TESTBED_KVM_TRACE" = npf ] || return 0
    [ -d "$KVM_TRACE_ROOT/events" ] || mount -t tracefs nodev "$KVM_TRACE_ROOT" 2>/dev/null
    [ -d "$KVM_TRACE_ROOT/events/kvm" ] || { echo "kvm trace: no kvm events in $KVM_TRACE_ROOT" >&2; return 0; }
    echo 0 >"$KVM_TRACE_ROOT/tracing_on"
    echo 2048 >"$KVM_TRACE_ROOT/buffer_size_kb"
    : >"$KVM_TRACE_ROOT/trace"
    if [ "$TESTBED_KVM_TRACE" = npf ]; then
        # Bit 33 of an NPF's error code: the fault came from the guest's own page-table walk.
        echo 'error_code & 0x200000000' >"$KVM_TRACE_ROOT/events/kvm/kvm_page_fault/filter"
        echo 1 >"$KVM_TRACE_ROOT/events/kvm/kvm_page_fault/enable"
    else
        echo 0 >"$KVM_TRACE_ROOT/events/kvm/kvm_page_fault/filter" 2>/dev/null
        for event in kvm_exit kvm_inj_exception kvm_inj_virq kvm_apic_accept_irq kvm_userspace_exit kvm_pio kvm_msr kvm_cr kvm_page_fault; do
            [ -f "$KVM_TRACE_ROOT/events/kvm/$event/enable" ] && echo 1 >"$KVM_TRACE_ROOT/events/kvm/$event/enable"
        done
    fi
    echo 1 >"$KVM_TRACE_ROOT/tracing_on"
}

# With TESTBED_KVM_TRACE=npf: the scenario's count of page-walk NPFs, as a note.
kvm_trace_note_npf() {
    [ "$TESTBED_KVM_TRACE" = npf ] && [ -f "$KVM_TRACE_ROOT/trace" ] || return 0
    echo 0 >"$KVM_TRACE_ROOT/tracing_on"
    printf 'page-walk NPFs %s%s' "$(grep -c 'kvm_page_fault:' "$KVM_TRACE_ROOT/trace")" \
        "$(grep 'kvm_page_fault:' "$KVM_TRACE_ROOT/trace" | head -n 8 |
            sed -n 's/.* \([0-9.]*\): kvm_page_fault: vcpu \([0-9]*\) rip \(0x[0-9a-f]*\) address \(0x[0-9a-f]*\).*/ [\1 s vcpu \2 rip \3 gpa \4]/p' | tr -d '\n')"
}

kvm_trace_dump() { # NAME
    [ "$TESTBED_KVM_TRACE" = 1 ] && [ -f "$KVM_TRACE_ROOT/trace" ] || return 0
    echo 0 >"$KVM_TRACE_ROOT/tracing_on"
    echo "TESTBED-LOG $1 kvm trace (last $TESTBED_KVM_TRACE_LINES events):"
    grep -v '^#' "$KVM_TRACE_ROOT/trace" | tail -n "$TESTBED_KVM_TRACE_LINES" | awk '{ print "TESTBED-LOG | " $0 }'
}
