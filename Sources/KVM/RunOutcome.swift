/// What one `KVM_RUN` came back with.
public enum RunOutcome: Sendable, Equatable {
    /// The guest exited to the VMM; `kvm_run` describes why (read it with `VCPU.exit`).
    case exited
    /// A kick or another signal interrupted the run before or during guest execution;
    /// `kvm_run` holds no exit. The caller checks why (pause, stop) and runs again.
    case interrupted
}
