import SwiftletCore
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The snapshot state-file container, and crash-safe file replacement for snapshot files.
///
/// Layout (all integers little-endian):
///
///     offset  size  field
///          0     8  magic, the ASCII bytes "SWLTSNAP"
///          8     4  format version (`formatVersion`)
///         12     4  flags, reserved, must be 0
///         16     8  payload length N
///         24     N  payload (the Machine's serialized state)
///     24 + N     8  CRC-64/XZ (see `CRC64`) of bytes 0 ..< 24 + N
///
/// Reading checks, in order: magic, version, flags, declared length against the file size,
/// then the checksum, and reports the first failure as a distinct `SnapshotFileError.Kind`.
public enum SnapshotFile {
    public static let magic: [UInt8] = Array("SWLTSNAP".utf8)
    public static let formatVersion: UInt32 = 1
    public static let headerSize = 24
    public static let checksumSize = 8
    /// A device/vCPU state is kilobytes; a gigantic "state" is a corrupted length or a wrong file.
    public static let maxPayloadBytes: UInt64 = 64 << 20

    // MARK: Encoding

    /// The complete file contents for `payload`.
    public static func encode(payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(headerSize + payload.count + checksumSize)
        bytes += magic
        bytes.appendLittleEndian(formatVersion)
        bytes.appendLittleEndian(UInt32(0))
        bytes.appendLittleEndian(UInt64(payload.count))
        bytes += payload
        bytes.appendLittleEndian(CRC64.checksum(bytes))
        return bytes
    }

    /// The payload of a complete file's contents. `path` only labels errors.
    public static func decode(_ bytes: [UInt8], path: String = "snapshot state") throws(SnapshotFileError) -> [UInt8] {
        func fail(_ kind: SnapshotFileError.Kind) -> SnapshotFileError { SnapshotFileError(kind, path: path) }
        let actual = UInt64(bytes.count)

        // A short file that starts like the magic is a truncated state file; anything else is
        // some other file.
        let magicPrefixLength = min(bytes.count, magic.count)
        guard bytes[0..<magicPrefixLength].elementsEqual(magic[0..<magicPrefixLength]) else { throw fail(.wrongMagic) }
        guard bytes.count >= headerSize,
            let version = bytes.loadLittleEndian(UInt32.self, at: 8),
            let flags = bytes.loadLittleEndian(UInt32.self, at: 12),
            let payloadLength = bytes.loadLittleEndian(UInt64.self, at: 16)
        else {
            throw fail(.truncated(expectedBytes: UInt64(headerSize + checksumSize), actualBytes: actual))
        }
        guard version == formatVersion else { throw fail(.unsupportedVersion(version)) }
        guard flags == 0 else { throw fail(.unsupportedFlags(flags)) }
        guard payloadLength <= maxPayloadBytes else {
            throw fail(.payloadTooLarge(bytes: payloadLength, limit: maxPayloadBytes))
        }
        // Cannot overflow: payloadLength is at most 64 MiB.
        let expected = UInt64(headerSize) + payloadLength + UInt64(checksumSize)
        guard actual >= expected else { throw fail(.truncated(expectedBytes: expected, actualBytes: actual)) }
        guard actual == expected else { throw fail(.lengthMismatch(expectedBytes: expected, actualBytes: actual)) }

        let checksumOffset = headerSize + Int(payloadLength)
        // Present: the length check above made room for it.
        let stored = bytes.loadLittleEndian(UInt64.self, at: checksumOffset) ?? 0
        let computed = CRC64.checksum(bytes[0..<checksumOffset])
        guard stored == computed else { throw fail(.checksumMismatch(stored: stored, computed: computed)) }
        return Array(bytes[headerSize..<checksumOffset])
    }

    // MARK: Files

    /// Writes a state file atomically: either the complete new file is at `path` afterwards,
    /// or whatever was there before is untouched.
    public static func write(payload: [UInt8], to path: String) throws {
        let contents = encode(payload: payload)
        try atomicWrite(path: path) { fd in
            try contents.withUnsafeBytes { bytes in
                try writeAll(fd, bytes, path: path)
            }
        }
    }

    /// Reads and verifies a state file; returns its payload. A file larger than any state
    /// file is refused before it is read into memory.
    public static func read(path: String) throws(SnapshotFileError) -> [UInt8] {
        let contents: [UInt8]
        do {
            contents = try HostFile.readAll(path, what: "snapshot state", limit: UInt64(headerSize + checksumSize) + maxPayloadBytes)
        } catch {
            throw SnapshotFileError(.unreadable(error), path: path)
        }
        return try decode(contents, path: path)
    }

    /// Creates `path` crash-safely, for files of any size (the guest memory file too):
    /// `writer` fills a new temporary file (mode 0600, same directory) through its descriptor;
    /// the file is then fsynced, renamed over `path`, and the directory fsynced so the rename
    /// itself survives a crash. If `writer` throws (its error is rethrown unchanged) or any
    /// step fails, the temporary file is removed and `path` keeps its old contents, if any.
    ///
    /// The descriptor is open read-write at offset 0; `writer` may write, pwrite, ftruncate or
    /// mmap it, and must not close it.
    public static func atomicWrite<Result>(path: String, _ writer: (Int32) throws -> Result) throws -> Result {
        let (directory, name) = split(path)
        guard !name.isEmpty, name != ".", name != ".." else {
            throw SnapshotFileError(.system(SystemError("create", code: EISDIR)), path: path)
        }
        // A long name plus the suffix could pass NAME_MAX; the temporary name need not be pretty.
        let tempName = name.utf8.count > 200 ? "snapshot" : name
        var template = Array("\(directory)/.\(tempName).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.map { mkstemp($0) } ?? -1
        }
        guard fd >= 0 else { throw systemError("create a temporary file next to", path: path) }
        // mkostemp is not visible without _GNU_SOURCE; the window before FD_CLOEXEC only matters
        // to a concurrent fork+exec, which at worst leaks this descriptor into a child.
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let tempPath = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        TemporaryFiles.register(tempPath)
        defer { TemporaryFiles.unregister(tempPath) }

        var isOpen = true
        do {
            let result = try writer(fd)
            guard fsync(fd) == 0 else { throw systemError("flush", path: path) }
            isOpen = false
            // No retry on EINTR: Linux has released the descriptor whatever close returns.
            guard close(fd) == 0 else { throw systemError("close", path: path) }
            guard rename(tempPath, path) == 0 else { throw systemError("rename the temporary file onto", path: path) }
            try syncDirectory(directory, for: path)
            return result
        } catch {
            if isOpen { close(fd) }
            unlink(tempPath)  // fails harmlessly with ENOENT once the rename happened
            throw error
        }
    }

    /// Writes all of `bytes` at the descriptor's current offset, or at `offset`.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: UInt64? = nil, path: String) throws(SnapshotFileError) {
        do {
            try HostFile.write(FileDescriptor(rawValue: fd), bytes, at: offset)
        } catch {
            throw SnapshotFileError(.system(error), path: path)
        }
    }

    // MARK: Helpers

    private static func syncDirectory(_ directory: String, for path: String) throws(SnapshotFileError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw systemError("open the directory of", path: path) }
        defer { close(fd) }
        // Some file systems cannot fsync directories (EINVAL); the data itself is already safe.
        guard fsync(fd) == 0 || errno == EINVAL else { throw systemError("sync the directory of", path: path) }
    }

    /// ("dir", "name") for "dir/name"; "." for a bare name; "/" for "/name".
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    /// The calling thread's errno as the error of `operation` on `path`.
    private static func systemError(_ operation: String, path: String) -> SnapshotFileError {
        SnapshotFileError(.system(SystemError.last(operation)), path: path)
    }
}
