import SwiftletCore

#if canImport(Glibc)
import Glibc
#endif

/// A failed KVM operation, phrased so that a user can act on it.
public enum KVMError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `/dev/kvm` does not exist: no KVM module, or not a Linux host with virtualization.
    case deviceMissing(path: String)
    /// The user may not open `/dev/kvm`.
    case permissionDenied(path: String)
    /// The path opened, but it does not answer KVM's ioctls.
    case notKVM(path: String, errno: Int32)
    /// The kernel speaks another KVM API than the stable version 12.
    case unsupportedAPIVersion(Int32)
    /// A capability this VMM relies on is absent.
    case missingCapability(String)
    /// An ioctl or system call failed.
    case systemCall(operation: String, errno: Int32)

    public var description: String {
        switch self {
        case .deviceMissing(let path):
            return "\(path) does not exist: load the kvm module (kvm_intel or kvm_amd) or run on a host with hardware virtualization"
        case .permissionDenied(let path):
            return "permission denied opening \(path): run as root or add your user to the group that owns it (often 'kvm')"
        case .notKVM(let path, let errno):
            return "\(path) is not a KVM device (KVM_GET_API_VERSION: \(SystemError.message(errno)))"
        case .unsupportedAPIVersion(let version):
            return "KVM API version \(version) is not supported (expected 12)"
        case .missingCapability(let name):
            return "the host's KVM lacks a required capability: \(name)"
        case .systemCall(let operation, let errno):
            return "\(operation) failed: \(SystemError.message(errno)) (errno \(errno))"
        }
    }
}

/// Runs an ioctl and turns -1 into a typed error naming the request.
@discardableResult
func checkedIoctl(_ fd: Int32, _ request: UInt, _ argument: UnsafeMutableRawPointer, _ name: @autoclosure () -> String) throws(KVMError) -> Int32 {
    let result = ioctl(fd, request, argument)
    if result < 0 { throw KVMError.systemCall(operation: name(), errno: errno) }
    return result
}

/// Calls an ioctl that fills or reads a C struct of type `T`.
func ioctlStruct<T>(_ fd: Int32, _ request: UInt, _ value: inout T, _ name: @autoclosure () -> String) throws(KVMError) {
    let result = withUnsafeMutablePointer(to: &value) { ioctl(fd, request, UnsafeMutableRawPointer($0)) }
    if result < 0 { throw KVMError.systemCall(operation: name(), errno: errno) }
}
