import GuestMemory
import KVM
import SwiftletCore

/// Why a snapshot could not be taken or restored.
public enum SnapshotError: Error, CustomStringConvertible, Sendable {
    /// The state file cannot be written or read, or is corrupt.
    case stateFile(SnapshotFileError)
    /// The memory file cannot be opened, written or mapped.
    case memoryFile(HostFileError)
    case memoryFileSize(path: String, actual: UInt64, expected: UInt64)
    case mappingMemory(path: String, GuestMemoryError)
    case encoding(any Error)
    case decoding(path: String, any Error)
    /// Written by a Swiftlet whose state format this one does not read.
    case incompatibleVersion(path: String, version: String)
    case invalidVCPUList(path: String)
    case invalidDevices(path: String, any Error)
    /// The memory size or regions are not what this Swiftlet would build.
    case memoryLayoutMismatch(path: String)
    /// A saved KVM structure has the wrong size for this build.
    case stateSize(what: String, actual: Int, expected: Int)
    case capturing(any Error)
    case restoringVM(any Error)
    case restoringVCPU(id: Int, any Error)
    case restoringDevices(any Error)
    /// An output path would overwrite the other output or a file the VM uses.
    case overlappingPaths(String)
    /// A disk could not be flushed before the snapshot.
    case syncingDisks(any Error)

    public var description: String {
        switch self {
        case .stateFile(let error): return error.description
        case .memoryFile(let error): return error.description
        case .memoryFileSize(let path, let actual, let expected):
            return "memory file \(path) has \(actual) bytes, the snapshot needs \(expected)"
        case .mappingMemory(let path, let error): return "mapping \(path): \(error)"
        case .encoding(let error): return "encoding state: \(error)"
        case .decoding(let path, let error): return "\(path): state does not decode: \(error)"
        case .incompatibleVersion(let path, let version): return "\(path) was written by an incompatible Swiftlet (\(version))"
        case .invalidVCPUList(let path): return "\(path): invalid vCPU list"
        case .invalidDevices(let path, let error): return "\(path): \(error)"
        case .memoryLayoutMismatch(let path): return "\(path): memory layout does not match this Swiftlet's"
        case .stateSize(let what, let actual, let expected): return "\(what) has \(actual) bytes, expected \(expected)"
        case .capturing(let error): return "capturing state: \(error)"
        case .restoringVM(let error): return "restoring VM state: \(error)"
        case .restoringVCPU(let id, let error): return "restoring vCPU \(id): \(error)"
        case .restoringDevices(let error): return "restoring PCI devices: \(error)"
        case .overlappingPaths(let problem): return "refusing the snapshot: \(problem)"
        case .syncingDisks(let error): return "flushing disks: \(error)"
        }
    }
}
