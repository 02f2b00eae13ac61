#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CTap
import SwiftletCore

/// An open disk image: a descriptor plus its size, closed when the last reference goes.
/// pread/pwrite carry their own offsets, so no seek state is shared between requests.
final class BlockBackingFile: Sendable {
    let descriptor: Int32
    let sizeInBytes: UInt64
    /// The image as opened, whatever its path names later.
    let identity: FileIdentity?

    init(path: String, readOnly: Bool) throws(VirtioBlockError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            throw code == ENOENT || code == ENOTDIR ? .fileNotFound(path: path) : .cannotOpen(path: path, errno: code)
        }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: throw .isDirectory(path: path)
        case S_IFREG, S_IFBLK: break
        default: throw .unsupportedFileType(path: path)
        }
        let descriptor = open(path, (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            if !readOnly && (code == EACCES || code == EROFS || code == EPERM || code == ETXTBSY) {
                throw .notWritable(path: path, errno: code)
            }
            throw .cannotOpen(path: path, errno: code)
        }
        // Two VMMs writing one image corrupt it, and so does a restored clone beside its
        // running original: writers take the image exclusively, readers share it. The lock
        // belongs to this open file description and goes when the descriptor is closed.
        guard flock(descriptor, (readOnly ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0 else {
            let code = errno
            close(descriptor)
            throw code == EWOULDBLOCK ? .inUse(path: path, readOnly: readOnly) : .cannotOpen(path: path, errno: code)
        }
        // lseek gives the size of block devices too, where st_size is 0.
        let end = lseek(descriptor, 0, SEEK_END)
        guard end >= 0 else {
            let code = errno
            close(descriptor)
            throw .cannotOpen(path: path, errno: code)
        }
        self.descriptor = descriptor
        sizeInBytes = UInt64(end)
        identity = FileIdentity(descriptor: descriptor)
    }

    private init(descriptor: Int32, sizeInBytes: UInt64, identity: FileIdentity?) {
        self.descriptor = descriptor
        self.sizeInBytes = sizeInBytes
        self.identity = identity
    }

    /// The same open image with its size read again (it grew or shrank on the host). Shares
    /// this one's open file description, and so its lock.
    func resized(path: String) throws(VirtioBlockError) -> BlockBackingFile {
        let copy = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { throw .cannotOpen(path: path, errno: errno) }
        let end = lseek(copy, 0, SEEK_END)
        guard end >= 0 else {
            let code = errno
            close(copy)
            throw .cannotOpen(path: path, errno: code)
        }
        return BlockBackingFile(descriptor: copy, sizeInBytes: UInt64(end), identity: identity)
    }

    deinit { close(descriptor) }

    /// Fills `buffer` from `offset`; false on error or a short file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) -> Bool {
        (try? HostFile.read(.init(rawValue: descriptor), into: buffer, at: offset)) != nil
    }

    /// Writes all of `buffer` at `offset`; false on error.
    func write(_ buffer: UnsafeRawBufferPointer, at offset: UInt64) -> Bool {
        (try? HostFile.write(.init(rawValue: descriptor), buffer, at: offset)) != nil
    }

    /// `flush`, with the failure as an error naming the image.
    func sync(path: String) throws(SystemError) {
        _ = try systemCall("fdatasync", path: path) { fdatasync(descriptor) }
    }

    /// Frees `[offset, offset+length)` (it then reads as zeros), keeping the size; false where
    /// the host cannot (a filesystem without hole punching).
    func punchHole(at offset: UInt64, length: UInt64) -> Bool {
        fallocateRange(CBLOCK_FALLOC_PUNCH_HOLE | CBLOCK_FALLOC_KEEP_SIZE, offset, length)
    }

    /// Makes `[offset, offset+length)` read as zeros, keeping the size: ZERO_RANGE where the
    /// filesystem has it, otherwise by writing zeros.
    func zero(at offset: UInt64, length: UInt64) -> Bool {
        if fallocateRange(CBLOCK_FALLOC_ZERO_RANGE | CBLOCK_FALLOC_KEEP_SIZE, offset, length) { return true }
        let chunk = [UInt8](repeating: 0, count: Int(min(length, 1 << 20)))
        var position = offset
        while position < offset + length {
            let count = Int(min(UInt64(chunk.count), offset + length - position))
            guard chunk.withUnsafeBytes({ write(UnsafeRawBufferPointer(rebasing: $0[0..<count]), at: position) }) else { return false }
            position += UInt64(count)
        }
        return true
    }

    private func fallocateRange(_ mode: Int32, _ offset: UInt64, _ length: UInt64) -> Bool {
        guard let start = Int64(exactly: offset), let count = Int64(exactly: length) else { return false }
        return retryingOnInterrupt { cblock_fallocate(descriptor, mode, start, count) } == 0
    }

    func flush() -> Bool {
        retryingOnInterrupt { fdatasync(descriptor) } == 0
    }
}
