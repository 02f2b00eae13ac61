import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why a host file named by the user (a kernel, an initrd, a snapshot, a config file, a disk)
/// cannot be used.
public struct HostFileError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Error, Equatable, Sendable {
        case notFound
        case isDirectory
        /// A FIFO, socket or character device: reading one could block forever or never end.
        case notRegularFile
        case permissionDenied
        case tooLarge(limit: UInt64)
        case system(SystemError)
    }

    /// What the file is for, in the user's words ("kernel", "snapshot state").
    public var what: String
    public var path: String
    public var reason: Reason

    public init(what: String, path: String, reason: Reason) {
        self.what = what
        self.path = path
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .notFound: return "\(what) file \(path) does not exist"
        case .isDirectory: return "\(what) path \(path) is a directory, not a file"
        case .notRegularFile: return "\(what) path \(path) is not a regular file (a FIFO, socket or device)"
        case .permissionDenied: return "\(what) file \(path) cannot be opened: permission denied"
        case .tooLarge(let limit): return "\(what) file \(path) is larger than \(HostFile.describe(bytes: limit))"
        case .system(let error): return "\(what) file \(path): \(error.description)"
        }
    }
}

/// Whole-file and positioned I/O on host files: the one `readAll`/`writeAll` pair, and the
/// one place that refuses paths which are not regular files.
public enum HostFile {
    /// An open host file and its size.
    public struct Opened: Sendable {
        public let descriptor: FileDescriptor
        public let size: UInt64
    }

    /// Opens `path`, refusing anything but a regular file (and a block device if allowed).
    ///
    /// `O_NONBLOCK` keeps `open` itself from waiting on a FIFO with no writer; the type check
    /// then refuses it, so a careless path can never hang the VMM.
    public static func open(
        _ path: String, what: String, writable: Bool = false, allowBlockDevice: Bool = false
    ) throws(HostFileError) -> Opened {
        let flags = (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NONBLOCK
        let raw = retryingOnInterrupt { Glibc.open(path, flags) }
        guard raw >= 0 else { throw error(for: errno, what: what, path: path, operation: "open") }
        let descriptor = FileDescriptor(rawValue: raw)
        var info = stat()
        guard fstat(raw, &info) == 0 else {
            let code = errno
            try? descriptor.close()
            throw error(for: code, what: what, path: path, operation: "fstat")
        }
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG || (allowBlockDevice && type == S_IFBLK) else {
            try? descriptor.close()
            throw HostFileError(what: what, path: path, reason: type == S_IFDIR ? .isDirectory : .notRegularFile)
        }
        // Regular files never block anyway; clearing the flag keeps later reads simple.
        _ = fcntl(raw, F_SETFL, fcntl(raw, F_GETFL) & ~O_NONBLOCK)
        var size = UInt64(clamping: info.st_size)
        if type == S_IFBLK {
            // A block device's st_size is 0; lseek knows its size.
            let end = lseek(raw, 0, SEEK_END)
            guard end >= 0 else {
                let code = errno
                try? descriptor.close()
                throw error(for: code, what: what, path: path, operation: "lseek")
            }
            size = UInt64(end)
        }
        return Opened(descriptor: descriptor, size: size)
    }

    /// The whole contents of the regular file at `path`, refusing more than `limit` bytes.
    public static func readAll(_ path: String, what: String, limit: UInt64) throws(HostFileError) -> [UInt8] {
        let file = try open(path, what: what)
        defer { try? file.descriptor.close() }
        guard file.size <= limit else { throw HostFileError(what: what, path: path, reason: .tooLarge(limit: limit)) }
        do {
            return try readAll(file.descriptor, sizeHint: Int(file.size), limit: limit)
        } catch {
            throw HostFileError(what: what, path: path, reason: error)
        }
    }

    /// Reads from the descriptor's offset to end of file, refusing more than `limit` bytes
    /// (a file can grow between `fstat` and the last read).
    public static func readAll(_ descriptor: FileDescriptor, sizeHint: Int = 0, limit: UInt64) throws(HostFileError.Reason) -> [UInt8] {
        var contents = [UInt8](repeating: 0, count: max(sizeHint, 4096))
        var filled = 0
        while true {
            if filled == contents.count { contents += [UInt8](repeating: 0, count: contents.count) }
            let result = contents.withUnsafeMutableBytes { buffer in
                retryingOnInterrupt { Glibc.read(descriptor.rawValue, buffer.baseAddress! + filled, buffer.count - filled) }
            }
            guard result >= 0 else { throw .system(SystemError.last("read")) }
            let count = result
            if count == 0 { break }
            filled += count
            guard UInt64(filled) <= limit else { throw .tooLarge(limit: limit) }
        }
        contents.removeSubrange(filled...)
        return contents
    }

    /// Fills `buffer` from file offset `offset`; throws on an error, or `short` when the file
    /// ends first.
    public static func read(_ descriptor: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(SystemError) {
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let count = try systemCall("pread") { pread(descriptor.rawValue, base + done, buffer.count - done, off_t(offset + UInt64(done))) }
            guard count > 0 else { throw SystemError("pread", code: EIO) }
            done += count
        }
    }

    /// Writes all of `bytes` at file offset `offset`, or at the current offset when nil.
    public static func write(_ descriptor: FileDescriptor, _ bytes: UnsafeRawBufferPointer, at offset: UInt64? = nil) throws(SystemError) {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let count = try systemCall(offset == nil ? "write" : "pwrite") {
                if let offset {
                    return pwrite(descriptor.rawValue, base + done, bytes.count - done, off_t(offset + UInt64(done)))
                }
                return Glibc.write(descriptor.rawValue, base + done, bytes.count - done)
            }
            // A write that moves nothing would loop forever.
            guard count > 0 else { throw SystemError(offset == nil ? "write" : "pwrite", code: EIO) }
            done += count
        }
    }

    static func error(for code: Int32, what: String, path: String, operation: String) -> HostFileError {
        switch code {
        case ENOENT, ENOTDIR: return HostFileError(what: what, path: path, reason: .notFound)
        case EACCES, EPERM: return HostFileError(what: what, path: path, reason: .permissionDenied)
        case EISDIR: return HostFileError(what: what, path: path, reason: .isDirectory)
        case ENXIO: return HostFileError(what: what, path: path, reason: .notRegularFile)
        default: return HostFileError(what: what, path: path, reason: .system(SystemError(operation, code: code)))
        }
    }

    static func describe(bytes: UInt64) -> String {
        bytes >= 1 << 20 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }
}
