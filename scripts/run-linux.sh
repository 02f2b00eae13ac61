#!/usr/bin/env bash
# Boots the default Linux guest (Debian's cloud kernel with a busybox initramfs, see
# scripts/build-guest.sh) to a shell on this terminal. Leave the guest with `reboot -f`.
#   scripts/run-linux.sh [--vmm qemu]
# With real VMX/SVM behind /dev/kvm, Swiftlet boots the guest directly. PVM's /dev/kvm cannot run
# an unmodified kernel, so there the guest runs with Swiftlet inside the nested testbed (L1 under
# QEMU's emulator, console passed through; Ctrl-A x ends QEMU if all else fails).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

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
