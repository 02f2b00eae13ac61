import KVM

/// Why a VM could not be built, started or snapshotted.
public enum MachineError: Error, CustomStringConvertible, Sendable {
    case invalidConfiguration(String)
    case fileUnreadable(path: String, reason: String)
    case kernel(path: String, reason: String)
    case kvm(KVMError)
    case invalidState(String)
    case snapshot(String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let why): return "invalid configuration: \(why)"
        case .fileUnreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .kernel(let path, let reason): return "cannot boot kernel \(path): \(reason)"
        case .kvm(let error): return error.description
        case .invalidState(let why): return why
        case .snapshot(let why): return "snapshot: \(why)"
        }
    }
}
