import SwiftletCore

/// A device that keeps host files open (a disk image). Taking a snapshot flushes them, so the
/// snapshot and the files agree on disk, and refuses output paths that would overwrite them.
public protocol HostFileBackedDevice {
    /// What each file is, for error messages (e.g. "disk 'rootfs'"), and which file it is.
    var hostFiles: [(what: String, path: String, identity: FileIdentity?)] { get }
    /// Makes the device's completed writes durable (fdatasync).
    func syncHostFiles() throws
}
