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
    /// Opened with O_DIRECT: transfers bypass the host page cache, and their buffers, offsets
    /// and lengths must be multiples of `directAlignment`.
    let direct: Bool
    /// The sector size: what O_DIRECT asks of the disks and file systems Swiftlet runs on.
    static let directAlignment = 512

    init(path: String, readOnly: Bool, direct: Bool = false) throws(VirtioBlockError) {
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
        let descriptor = open(path, (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (direct ? CBLOCK_O_DIRECT : 0))
        guard descriptor >= 0 else {
            let code = errno
            // tmpfs, for one, has no direct I/O and says so with EINVAL.
            if direct && code == EINVAL { throw .directIOUnsupported(path: path) }
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
        self.direct = direct
    }

    private init(descriptor: Int32, sizeInBytes: UInt64, identity: FileIdentity?, direct: Bool) {
        self.descriptor = descriptor
        self.sizeInBytes = sizeInBytes
        self.identity = identity
        self.direct = direct
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
        return BlockBackingFile(descriptor: copy, sizeInBytes: UInt64(end), identity: identity, direct: direct)
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
    /// filesystem has it, otherwise by writing zeros (from an aligned buffer, for O_DIRECT).
    func zero(at offset: UInt64, length: UInt64) -> Bool {
        if fallocateRange(CBLOCK_FALLOC_ZERO_RANGE | CBLOCK_FALLOC_KEEP_SIZE, offset, length) { return true }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(min(length, 1 << 20)), alignment: 4096)
        defer { chunk.deallocate() }
        chunk.initializeMemory(as: UInt8.self, repeating: 0)
        var position = offset
        while position < offset + length {
            let count = Int(min(UInt64(chunk.count), offset + length - position))
            guard write(UnsafeRawBufferPointer(rebasing: chunk[0..<count]), at: position) else { return false }
            position += UInt64(count)
        }
        return true
    }

    /// Whether O_DIRECT takes the `count` bytes at `address` as they are.
    static func isDirectAligned(_ address: UnsafeRawPointer?, count: Int) -> Bool {
        UInt(bitPattern: address) % UInt(directAlignment) == 0 && count % directAlignment == 0
    }

    /// Reads `[offset, offset + total)` into `destinations` in order through one aligned buffer:
    /// how a direct image serves guest buffers that O_DIRECT would refuse.
    func readThroughBounce(into destinations: [UnsafeMutableRawBufferPointer], at offset: UInt64) -> Bool {
        let total = destinations.reduce(0) { $0 + $1.count }
        let bounce = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 4096)
        defer { bounce.deallocate() }
        guard read(into: UnsafeMutableRawBufferPointer(rebasing: bounce[0..<total]), at: offset) else { return false }
        var position = 0
        for destination in destinations {
            destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: bounce[position..<position + destination.count]))
            position += destination.count
        }
        return true
    }

    /// Writes `sources`, concatenated, at `offset` through one aligned buffer.
    func writeThroughBounce(_ sources: [UnsafeRawBufferPointer], at offset: UInt64) -> Bool {
        let total = sources.reduce(0) { $0 + $1.count }
        let bounce = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 4096)
        defer { bounce.deallocate() }
        var position = 0
        for source in sources {
            UnsafeMutableRawBufferPointer(rebasing: bounce[position..<position + source.count]).copyMemory(from: source)
            position += source.count
        }
        return write(UnsafeRawBufferPointer(rebasing: bounce[0..<total]), at: offset)
    }

    private func fallocateRange(_ mode: Int32, _ offset: UInt64, _ length: UInt64) -> Bool {
        guard let start = Int64(exactly: offset), let count = Int64(exactly: length) else { return false }
        return retryingOnInterrupt { cblock_fallocate(descriptor, mode, start, count) } == 0
    }

    func flush() -> Bool {
        retryingOnInterrupt { fdatasync(descriptor) } == 0
    }
}
