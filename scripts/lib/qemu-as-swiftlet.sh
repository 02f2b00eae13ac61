#!/bin/sh
# A stand-in for `swiftlet run` built on QEMU, for checking the testbed itself: the guest images,
# the scenarios and the runner, with a VMM known to boot Linux. It takes the subset of Swiftlet's
# options the scenarios use and behaves the same way at the edges (serial console on stdin and
# stdout, exit 0 when the guest reboots, non-zero with a message on errors).
#   SWIFTLET=scripts/lib/qemu-as-swiftlet.sh scripts/testbed.sh --direct linux-boot
# QEMU_ACCEL picks the accelerator (default: kvm when /dev/kvm runs Linux, else tcg);
# QEMU_MACHINE the machine type (default pc; the benchmark also uses microvm); QEMU_CPU a -cpu
# model (default QEMU's own; `host` gives the guest about the CPUID Swiftlet gives it);
# QEMU_NET_VHOST=on puts --net's data path in the kernel (vhost-net; default off, as Swiftlet's).
set -eu

# --api-sock PATH gives QEMU a QMP socket there (not Firecracker's API: only bench-smp-pause,
# which speaks QMP to it, uses it).
[ "${1:-}" = run ] || { echo "usage: $0 run --kernel PATH [--initrd PATH] [--cmdline S] [--memory MIB] [--cpus N] [--disk PATH[,ro][,io=async|sync][,direct]] [--net tap=NAME[,mac=MAC]] [--vsock cid=N[,uds=PATH]] [--api-sock PATH]" >&2; exit 2; }
shift
kernel= initrd= cmdline= memory=128 cpus=1 disk= net= vsock= qmp=
while [ $# -gt 0 ]; do
    case $1 in
    --kernel) kernel=$2 ;;
    --initrd) initrd=$2 ;;
    --cmdline) cmdline=$2 ;;
    --memory) memory=$2 ;;
    --cpus) cpus=$2 ;;
    --disk) disk=$2 ;;
    --net) net=$2 ;;
    --vsock) vsock=$2 ;;
    --api-sock) qmp=$2 ;;
    *) echo "qemu-as-swiftlet: unsupported option $1" >&2; exit 2 ;;
    esac
    shift 2
done
[ -f "$kernel" ] || { echo "error: cannot open kernel $kernel" >&2; exit 1; }

if [ -z "${QEMU_ACCEL:-}" ]; then
    QEMU_ACCEL=tcg
    [ -w /dev/kvm ] && [ ! -e /sys/module/kvm_pvm ] && grep -qw -e vmx -e svm /proc/cpuinfo && QEMU_ACCEL=kvm
fi
set -- -accel "$QEMU_ACCEL" ${QEMU_CPU:+-cpu "$QEMU_CPU"} -M "${QEMU_MACHINE:-pc}" -m "$memory" -smp "$cpus" -display none -monitor none \
    -serial stdio -no-reboot -nodefaults -kernel "$kernel" -append "$cmdline"
[ -n "$initrd" ] && set -- "$@" -initrd "$initrd"
[ -n "$qmp" ] && set -- "$@" -qmp "unix:$qmp,server=on,wait=off"
# Whether QEMU opens the disk with these -drive options (it quits at once when it does).
qemu_opens() { # DRIVE_OPTIONS
    echo quit | timeout 30 qemu-system-x86_64 -accel "$QEMU_ACCEL" -M none -nodefaults -display none -S -monitor stdio \
        -drive "if=none,id=probe,file=$path,format=raw,$1" >/dev/null
}
if [ -n "$disk" ]; then
    # Swiftlet's disk options in QEMU's words: ro; direct (host page cache bypassed: cache=none,
    # i.e. cache.direct=on with the write cache on, as Swiftlet's); io=async (requests overlapped
    # in the kernel: aio=io_uring, or QEMU_DISK_AIO) and io=sync (a thread pool: aio=threads).
    path=${disk%%,*} drive_options= aio=
    for part in $(printf '%s\n' "${disk#"$path"}" | tr ',' ' '); do
        case $part in
        ro | readonly) drive_options="$drive_options,readonly=on" ;;
        direct) drive_options="$drive_options,cache=none" ;;
        io=async) aio=${QEMU_DISK_AIO:-io_uring} ;;
        io=sync) aio=threads ;;
        id=*) ;;
        *) echo "qemu-as-swiftlet: unsupported --disk part $part" >&2; exit 2 ;;
        esac
    done
    if [ "$aio" = io_uring ]; then
        # A QEMU built without liburing, or a kernel without io_uring, refuses it when it opens
        # the drive: if it opens with a thread pool but not with io_uring, fall back to Linux AIO
        # (which needs O_DIRECT) or threads. Any other refusal is left to the real start to report.
        probe="${TMPDIR:-/tmp}/qemu-probe.$$"
        if ! qemu_opens "aio=io_uring$drive_options" 2>"$probe" && qemu_opens "aio=threads$drive_options" 2>/dev/null; then
            case $drive_options in *cache=none*) aio=native ;; *) aio=threads ;; esac
            echo "qemu-as-swiftlet: aio=io_uring refused ($(grep -v '^$' "$probe" | head -n1)); using aio=$aio" >&2
        fi
        rm -f "$probe"
    fi
    [ -z "$aio" ] || drive_options="$drive_options,aio=$aio"
    [ -z "$drive_options" ] || echo "qemu-as-swiftlet: drive options ${drive_options#,}" >&2
    set -- "$@" -drive "file=$path,format=raw,if=virtio$drive_options"
fi
if [ -n "$net" ]; then
    # virtio-net-pci on the tap, its data path in QEMU's own process (vhost=off) as Swiftlet's,
    # or with QEMU_NET_VHOST=on in the kernel's vhost-net (L1's /dev/vhost-net).
    tap= mac=
    for part in $(printf '%s\n' "$net" | tr ',' ' '); do
        case $part in
        tap=*) tap=${part#tap=} ;;
        mac=*) mac=${part#mac=} ;;
        *) echo "qemu-as-swiftlet: unsupported --net part $part" >&2; exit 2 ;;
        esac
    done
    [ -e "/sys/class/net/$tap" ] || { echo "error: no tap $tap" >&2; exit 1; }
    # romfile= : no PXE option ROM (the guest boots with -kernel; the testbed packs no ROMs).
    vhost=${QEMU_NET_VHOST:-off}
    case $vhost in on | off) ;; *) echo "qemu-as-swiftlet: QEMU_NET_VHOST must be on or off, not $vhost" >&2; exit 2 ;; esac
    [ "$vhost" = off ] || [ -c /dev/vhost-net ] || { echo "error: QEMU_NET_VHOST=on but no /dev/vhost-net (module vhost_net)" >&2; exit 1; }
    echo "qemu-as-swiftlet: net vhost=$vhost" >&2
    set -- "$@" -netdev "tap,id=net0,ifname=$tap,script=no,downscript=no,vhost=$vhost" \
        -device "virtio-net-pci,netdev=net0,romfile=${mac:+,mac=$mac}"
fi
if [ -n "$vsock" ]; then
    # vhost-vsock-pci: QEMU's process has no vsock data path of its own (its devices are
    # vhost-vsock, in the kernel, and vhost-user-vsock, in a separate daemon), so the host side
    # is this kernel's AF_VSOCK (connect to the guest's CID, listen for its connections to
    # CID 2), not Swiftlet's Unix socket, and uds= has nothing to map to.
    cid=
    for part in $(printf '%s\n' "$vsock" | tr ',' ' '); do
        case $part in
        cid=*) cid=${part#cid=} ;;
        uds=*) ;;
        *) echo "qemu-as-swiftlet: unsupported --vsock part $part" >&2; exit 2 ;;
        esac
    done
    [ -n "$cid" ] || { echo "error: --vsock needs cid=N" >&2; exit 2; }
    [ -c /dev/vhost-vsock ] || { echo "error: no /dev/vhost-vsock (module vhost_vsock)" >&2; exit 1; }
    set -- "$@" -device "vhost-vsock-pci,guest-cid=$cid"
fi
exec qemu-system-x86_64 "$@"
