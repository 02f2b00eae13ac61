import Foundation
import Testing

/// The integration tests boot the tiny guest on the host's /dev/kvm. Where it is missing or not
/// read-write for this user they cannot run: their suites are skipped with this reason, which
/// Swift Testing prints for every test (`➜ Test ... skipped: "..."`). scripts/test.sh lists the
/// skipped tests and, under CI=true, counts them as failures.
enum HostKVM {
    static let device = "/dev/kvm"
    static var usable: Bool { access(device, R_OK | W_OK) == 0 }
}

extension Trait where Self == ConditionTrait {
    /// Skips a suite loudly when the host has no usable /dev/kvm.
    static var needsKVM: Self {
        .enabled(
            if: HostKVM.usable,
            "SKIPPED: \(HostKVM.device) is missing or not read-write for this user, so no VM can run (sudo usermod -aG kvm $USER)")
    }
}
