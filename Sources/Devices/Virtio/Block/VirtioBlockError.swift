#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SwiftletCore

/// Why a disk image could not be opened.
public enum VirtioBlockError: Error, Equatable, Sendable, CustomStringConvertible {
    case fileNotFound(path: String)
    case isDirectory(path: String)
    case unsupportedFileType(path: String)
    case notWritable(path: String, errno: Int32)
    case cannotOpen(path: String, errno: Int32)
    case idTooLong(String)
    /// Another process (or another device) holds a conflicting lock on the image.
    case inUse(path: String, readOnly: Bool)
    /// `direct` asked for O_DIRECT on a file system without it (tmpfs).
    case directIOUnsupported(path: String)
    case queueCount(Int, maximum: Int)

    public var description: String {
        switch self {
        case .fileNotFound(let path): return "disk image \(path) does not exist"
        case .isDirectory(let path): return "disk image \(path) is a directory"
        case .unsupportedFileType(let path): return "disk image \(path) is neither a regular file nor a block device"
        case .notWritable(let path, let code):
            return "disk image \(path) cannot be opened read-write (\(Self.message(code))); attach it read-only"
        case .cannotOpen(let path, let code): return "cannot open disk image \(path): \(Self.message(code))"
        case .inUse(let path, let readOnly):
            return readOnly
                ? "disk image \(path) is in use: a VM has it open read-write"
                : "disk image \(path) is in use by another VM (or twice in this one); each image can have one writer"
        case .idTooLong(let id): return "disk id \"\(id)\" is longer than \(VirtioBlock.idLength) bytes"
        case .directIOUnsupported(let path):
            return "disk image \(path) cannot be opened for direct I/O (O_DIRECT): its file system does not support it; drop the direct option"
        case .queueCount(let count, let maximum): return "a disk has 1 to \(maximum) queues, not \(count)"
        }
    }

    private static func message(_ code: Int32) -> String { SystemError.message(code) }
}

/// A request the device cannot even answer (no header or no status byte to write).
/// Thrown out of `process(queue:)`, so the transport reports it and sets NEEDS_RESET.
public enum VirtioBlockRequestError: Error, Equatable, Sendable, CustomStringConvertible {
    case headerTooShort(readableBytes: UInt64)
    case noStatusByte
    /// The driver made a head available again while the device still had its request.
    case headInFlight(UInt16)

    public var description: String {
        switch self {
        case .headerTooShort(let bytes): return "rejected request: header needs 16 device-readable bytes, chain has \(bytes)"
        case .noStatusByte: return "rejected request: no device-writable status byte"
        case .headInFlight(let head): return "rejected request: descriptor \(head) was made available again while its request is in flight"
        }
    }
}
