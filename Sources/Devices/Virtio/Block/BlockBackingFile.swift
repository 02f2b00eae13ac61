#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An open disk image: a descriptor plus its size, closed when the last reference goes.
/// pread/pwrite carry their own offsets, so no seek state is shared between requests.
final class BlockBackingFile: Sendable {
    let descriptor: Int32
    let sizeInBytes: UInt64

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
        // lseek gives the size of block devices too, where st_size is 0.
        let end = lseek(descriptor, 0, SEEK_END)
        guard end >= 0 else {
            let code = errno
            close(descriptor)
            throw .cannotOpen(path: path, errno: code)
        }
        self.descriptor = descriptor
        sizeInBytes = UInt64(end)
    }

    deinit { close(descriptor) }

    /// Fills `buffer` from `offset`; false on error or a short file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) -> Bool {
        guard let base = buffer.baseAddress else { return true }
        return Self.transferAll(buffer.count) { done in
            pread(descriptor, base + done, buffer.count - done, off_t(offset + UInt64(done)))
        }
    }

    /// Writes all of `buffer` at `offset`; false on error.
    func write(_ buffer: UnsafeRawBufferPointer, at offset: UInt64) -> Bool {
        guard let base = buffer.baseAddress else { return true }
        return Self.transferAll(buffer.count) { done in
            pwrite(descriptor, base + done, buffer.count - done, off_t(offset + UInt64(done)))
        }
    }

    /// Repeats a partial pread/pwrite (`step` gets the bytes done so far) until `count` bytes
    /// moved; retries EINTR, fails on an error or on no progress (end of file).
    private static func transferAll(_ count: Int, _ step: (Int) -> Int) -> Bool {
        var done = 0
        while done < count {
            let moved = step(done)
            if moved < 0 && errno == EINTR { continue }
            guard moved > 0 else { return false }
            done += moved
        }
        return true
    }

    func flush() -> Bool {
        while fdatasync(descriptor) != 0 {
            guard errno == EINTR else { return false }
        }
        return true
    }
}
