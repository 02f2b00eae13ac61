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
        appendLittleEndian(formatVersion, to: &bytes)
        appendLittleEndian(UInt32(0), to: &bytes)
        appendLittleEndian(UInt64(payload.count), to: &bytes)
        bytes += payload
        appendLittleEndian(CRC64.checksum(bytes), to: &bytes)
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
        guard bytes.count >= headerSize else {
            throw fail(.truncated(expectedBytes: UInt64(headerSize + checksumSize), actualBytes: actual))
        }
        let version = readLittleEndian(UInt32.self, from: bytes, at: 8)
        guard version == formatVersion else { throw fail(.unsupportedVersion(version)) }
        let flags = readLittleEndian(UInt32.self, from: bytes, at: 12)
        guard flags == 0 else { throw fail(.unsupportedFlags(flags)) }
        let payloadLength = readLittleEndian(UInt64.self, from: bytes, at: 16)
        guard payloadLength <= maxPayloadBytes else {
            throw fail(.payloadTooLarge(bytes: payloadLength, limit: maxPayloadBytes))
        }
        // Cannot overflow: payloadLength is at most 64 MiB.
        let expected = UInt64(headerSize) + payloadLength + UInt64(checksumSize)
        guard actual >= expected else { throw fail(.truncated(expectedBytes: expected, actualBytes: actual)) }
        guard actual == expected else { throw fail(.lengthMismatch(expectedBytes: expected, actualBytes: actual)) }

        let checksumOffset = headerSize + Int(payloadLength)
        let stored = readLittleEndian(UInt64.self, from: bytes, at: checksumOffset)
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

    /// Reads and verifies a state file; returns its payload.
    public static func read(path: String) throws(SnapshotFileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("open", path: path) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw ioError("inspect", path: path) }
        let limit = UInt64(headerSize + checksumSize) + maxPayloadBytes
        let size = UInt64(clamping: status.st_size)
        guard size <= limit else {
            // Refuse before reading a huge wrong file into memory.
            throw SnapshotFileError(.payloadTooLarge(bytes: size - UInt64(headerSize + checksumSize), limit: maxPayloadBytes), path: path)
        }
        var contents = [UInt8](repeating: 0, count: Int(size))
        var filled = 0
        while filled < contents.count {
            let count = contents.withUnsafeMutableBytes { buffer in
                Glibc.read(fd, buffer.baseAddress.map { $0 + filled }, buffer.count - filled)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw ioError("read", path: path)
            }
            if count == 0 { break }  // shrank while we read: decode reports what is missing
            filled += count
        }
        return try decode(Array(contents[0..<filled]), path: path)
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
            throw SnapshotFileError(.io(operation: "create", errno: EISDIR, message: "the path names a directory"), path: path)
        }
        // A long name plus the suffix could pass NAME_MAX; the temporary name need not be pretty.
        let tempName = name.utf8.count > 200 ? "snapshot" : name
        var template = Array("\(directory)/.\(tempName).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.map { mkstemp($0) } ?? -1
        }
        guard fd >= 0 else { throw ioError("create a temporary file next to", path: path) }
        // mkostemp is not visible without _GNU_SOURCE; the window before FD_CLOEXEC only matters
        // to a concurrent fork+exec, which at worst leaks this descriptor into a child.
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let tempPath = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)

        var isOpen = true
        do {
            let result = try writer(fd)
            guard fsync(fd) == 0 else { throw ioError("flush", path: path) }
            isOpen = false
            guard close(fd) == 0 else { throw ioError("close", path: path) }
            guard rename(tempPath, path) == 0 else { throw ioError("rename the temporary file onto", path: path) }
            try syncDirectory(directory, for: path)
            return result
        } catch {
            if isOpen { close(fd) }
            unlink(tempPath)  // fails harmlessly with ENOENT once the rename happened
            throw error
        }
    }

    /// Writes all of `bytes` at the descriptor's current offset, retrying short writes.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SnapshotFileError) {
        var written = 0
        while written < bytes.count {
            let count = Glibc.write(fd, bytes.baseAddress.map { $0 + written }, bytes.count - written)
            if count < 0 {
                if errno == EINTR { continue }
                throw ioError("write", path: path)
            }
            if count == 0 { throw SnapshotFileError(.io(operation: "write", errno: EIO, message: "no progress"), path: path) }
            written += count
        }
    }

    // MARK: Helpers

    private static func syncDirectory(_ directory: String, for path: String) throws(SnapshotFileError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("open the directory of", path: path) }
        defer { close(fd) }
        // Some file systems cannot fsync directories (EINVAL); the data itself is already safe.
        guard fsync(fd) == 0 || errno == EINVAL else { throw ioError("sync the directory of", path: path) }
    }

    /// ("dir", "name") for "dir/name"; "." for a bare name; "/" for "/name".
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    private static func ioError(_ operation: String, path: String) -> SnapshotFileError {
        let code = errno
        return SnapshotFileError(.io(operation: operation, errno: code, message: String(cString: strerror(code))), path: path)
    }

    private static func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Caller guarantees `offset + MemoryLayout<T>.size <= bytes.count`.
    private static func readLittleEndian<T: FixedWidthInteger>(_: T.Type, from bytes: [UInt8], at offset: Int) -> T {
        var value = T.zero
        for index in (0..<MemoryLayout<T>.size).reversed() {
            value = (value << 8) | T(bytes[offset + index])
        }
        return value
    }
}
