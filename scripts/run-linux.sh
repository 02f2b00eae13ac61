#!/usr/bin/env bash
# Boots the default Linux guest (Debian's cloud kernel with a busybox initramfs, see
# scripts/build-guest.sh) to a shell on this terminal, with an ext4 disk attached as /dev/vda and
# mounted at /mnt (its README says what the guest is), and eth0 (172.30.0.2/24) on a tap tap0
# whose end is 172.30.0.1, created where Swiftlet runs (guest/linux/testbed/runner.sh
# --interactive). Leave the guest with `poweroff -f` (or Ctrl-A x).
#   scripts/run-linux.sh [--vmm qemu]
# First the set-up step (scripts/lib/setup.sh): as root it installs the Debian packages needed;
# it checks Swift and /dev/kvm. The first run then builds Swiftlet, downloads the kernel and
# builds the images, printing a line with the time each stage took.
# With real VMX/SVM behind /dev/kvm, Swiftlet boots the guest directly. PVM's /dev/kvm cannot run
# an unmodified kernel, so there the guest runs with Swiftlet inside the nested testbed (L1 under
# QEMU's emulator, console passed through; Ctrl-A x ends QEMU if all else fails).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/setup.sh"

setup_host run

if host_kvm_runs_linux; then
    log "/dev/kvm is VMX/SVM: booting the guest directly with Swiftlet"
    exec "$REPO_ROOT/scripts/testbed.sh" --direct --interactive "$@"
fi
if [ -e /sys/module/kvm_pvm ]; then
    why="/dev/kvm is PVM (kvm_pvm), which cannot run an unmodified Linux kernel"
else
    why="/dev/kvm is missing, not accessible, or the CPU shows no vmx/svm"
fi
log "$why: booting the guest with Swiftlet inside the nested testbed (L1 under QEMU's emulator, slower)"
exec "$REPO_ROOT/scripts/testbed.sh" --nested --interactive "$@"
