import GuestMemory
import KVM
import SwiftletCore
import X86Boot

/// Why a VM could not be built, started or snapshotted. Each case keeps its cause's typed
/// error; `description` is what the user reads.
public enum MachineError: Error, CustomStringConvertible, Sendable {
    /// A size or count outside `MachineLimits`.
    case limit(MachineLimits.Violation)
    /// The kernel or initrd file cannot be read.
    case hostFile(HostFileError)
    /// The kernel image (or the initrd or command line that go with it) cannot be booted.
    case kernel(path: String, KernelImageError)
    case memory(GuestMemoryError)
    /// The ACPI or MP tables cannot describe the machine.
    case firmware(FirmwareTableError)
    case kvm(KVMError)
    /// A device could not be built or attached (a disk that cannot be opened, a bus clash).
    case device(any Error)
    /// The request does not fit the VM's lifecycle state (pausing a stopped VM).
    case invalidState(String)
    case snapshot(SnapshotError)
    /// `track_dirty_pages` was asked for but KVM refused to log a memory slot's dirty pages
    /// (PVM was expected to; the development host's PVM does not).
    case dirtyPageTrackingUnavailable(kvmDevicePath: String, errno: Int32)

    public var description: String {
        switch self {
        case .limit(let violation): return "invalid configuration: \(violation)"
        case .hostFile(let error): return error.description
        case .kernel(let path, let error): return "cannot boot kernel \(path): \(error)"
        case .memory(let error): return error.description
        case .firmware(let error): return "firmware tables: \(error)"
        case .kvm(let error): return error.description
        case .device(let error): return "invalid configuration: \(error)"
        case .invalidState(let why): return why
        case .snapshot(let error): return "snapshot: \(error)"
        case .dirtyPageTrackingUnavailable(let path, let errno):
            return "dirty page tracking (track_dirty_pages) is unavailable: \(path) refused KVM_MEM_LOG_DIRTY_PAGES (\(SystemError.message(errno)))"
        }
    }
}
