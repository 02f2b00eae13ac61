import SwiftletCore

/// Why a snapshot state file could not be written or read. Each corruption has its own case
/// so a user can tell a wrong file (magic), a file from another Swiftlet version (version),
/// an incomplete copy (truncated) and bit rot (checksum) apart.
public struct SnapshotFileError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        /// The first 8 bytes are not "SWLTSNAP": not a Swiftlet state file at all.
        case wrongMagic
        case unsupportedVersion(UInt32)
        /// Reserved flag bits are set; a newer writer uses a feature this reader lacks.
        case unsupportedFlags(UInt32)
        /// The file ends before the header, payload or checksum it declares.
        case truncated(expectedBytes: UInt64, actualBytes: UInt64)
        /// The file is longer than its header says: extra bytes after the checksum.
        case lengthMismatch(expectedBytes: UInt64, actualBytes: UInt64)
        case checksumMismatch(stored: UInt64, computed: UInt64)
        case payloadTooLarge(bytes: UInt64, limit: UInt64)
        /// The file cannot be opened or read: missing, not a regular file, larger than any
        /// state file, or an I/O error.
        case unreadable(HostFileError)
        /// A system call failed while writing.
        case system(SystemError)
    }

    public var kind: Kind
    public var path: String

    public init(_ kind: Kind, path: String) {
        self.kind = kind
        self.path = path
    }

    public var description: String {
        switch kind {
        case .wrongMagic:
            "\(path) is not a Swiftlet snapshot state file (wrong magic number)."
        case .unsupportedVersion(let version):
            "\(path) has snapshot format version \(version); this Swiftlet reads version \(SnapshotFile.formatVersion) only."
        case .unsupportedFlags(let flags):
            "\(path) uses snapshot format flags 0x\(String(flags, radix: 16)) that this Swiftlet does not know."
        case .truncated(let expected, let actual):
            "\(path) is truncated: it has \(actual) bytes but its header promises \(expected)."
        case .lengthMismatch(let expected, let actual):
            "\(path) has \(actual) bytes but its header says \(expected); it was altered or appended to."
        case .checksumMismatch(let stored, let computed):
            "\(path) is corrupted: its CRC-64 is 0x\(String(computed, radix: 16)) but 0x\(String(stored, radix: 16)) was recorded."
        case .payloadTooLarge(let bytes, let limit):
            "\(path) declares a \(bytes)-byte state, more than the \(limit)-byte limit."
        case .unreadable(let error):
            "\(error)."
        case .system(let error):
            "Cannot \(error.operation) \(path): \(SystemError.message(error.errno.rawValue))."
        }
    }
}
