import SwiftletCore
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Merges a diff snapshot's memory file onto its base (Firecracker's `rebase-snap`): every
/// data extent of the diff is copied onto the base at the same offset; the diff's holes (the
/// pages that did not change) leave the base as it is. The base then equals a full snapshot
/// taken at the diff's moment, and restores with the diff's state file.
///
/// The extents are found with `lseek(SEEK_DATA/SEEK_HOLE)`, so the diff must sit on a file
/// system that keeps holes (ext4, xfs, btrfs, tmpfs); one that does not reports the whole file
/// as data, and the merge would copy the diff's zeros over the base.
public enum SnapshotRebase {
    public struct Result: Sendable, Equatable {
        /// Bytes copied from the diff onto the base.
        public var bytesCopied: UInt64
        /// How many data extents the diff held.
        public var extents: Int
    }

    public enum Failure: Error, CustomStringConvertible, Sendable, Equatable {
        case cannotOpen(what: String, SystemError)
        case notRegularFile(what: String, path: String)
        case sizeMismatch(basePath: String, baseSize: UInt64, diffPath: String, diffSize: UInt64)
        case io(SystemError)

        public var description: String {
            switch self {
            case .cannotOpen(let what, let error): return "cannot open the \(what): \(error)"
            case .notRegularFile(let what, let path): return "the \(what) \(path) is not a regular file"
            case .sizeMismatch(let basePath, let baseSize, let diffPath, let diffSize):
                return "the base memory file \(basePath) has \(baseSize) bytes but the diff \(diffPath) has \(diffSize): they are not snapshots of the same VM"
            case .io(let error): return error.description
            }
        }
    }

    static let chunkSize = 1 << 20
    /// Linux's lseek whences; Glibc exports them only under _GNU_SOURCE.
    static let seekData: Int32 = 3
    static let seekHole: Int32 = 4

    @discardableResult
    public static func rebase(baseFile: String, diffFile: String) throws(Failure) -> Result {
        let base = try openRegular(baseFile, flags: O_WRONLY, what: "base memory file")
        defer { close(base.fd) }
        let diff = try openRegular(diffFile, flags: O_RDONLY, what: "diff memory file")
        defer { close(diff.fd) }
        guard base.size == diff.size else {
            throw .sizeMismatch(basePath: baseFile, baseSize: base.size, diffPath: diffFile, diffSize: diff.size)
        }
        var result = Result(bytesCopied: 0, extents: 0)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 4096)
        defer { buffer.deallocate() }
        var offset: off_t = 0
        while UInt64(offset) < diff.size {
            let dataStart = lseek(diff.fd, offset, seekData)
            if dataStart < 0 {
                if errno == ENXIO { break }  // no data after `offset`
                throw .io(SystemError.last("lseek(SEEK_DATA)", path: diffFile))
            }
            let dataEnd = lseek(diff.fd, dataStart, seekHole)
            guard dataEnd >= 0 else { throw .io(SystemError.last("lseek(SEEK_HOLE)", path: diffFile)) }
            var position = dataStart
            while position < dataEnd {
                let count = min(chunkSize, Int(dataEnd - position))
                do throws(SystemError) {
                    try HostFile.read(FileDescriptor(rawValue: diff.fd), into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]), at: UInt64(position))
                } catch {
                    throw .io(SystemError(error.operation, path: diffFile, errno: error.errno))
                }
                do throws(SystemError) {
                    try HostFile.write(
                        FileDescriptor(rawValue: base.fd), UnsafeRawBufferPointer(rebasing: buffer[0..<count]), at: UInt64(position))
                } catch {
                    throw .io(SystemError(error.operation, path: baseFile, errno: error.errno))
                }
                position += off_t(count)
                result.bytesCopied += UInt64(count)
            }
            result.extents += 1
            offset = dataEnd
        }
        guard fsync(base.fd) == 0 else { throw .io(SystemError.last("fsync", path: baseFile)) }
        return result
    }

    private static func openRegular(_ path: String, flags: Int32, what: String) throws(Failure) -> (fd: Int32, size: UInt64) {
        let fd = retryingOnInterrupt { open(path, flags | O_CLOEXEC) }
        guard fd >= 0 else { throw .cannotOpen(what: what, SystemError.last("open", path: path)) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let error = SystemError.last("stat", path: path)
            close(fd)
            throw .io(error)
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw .notRegularFile(what: what, path: path)
        }
        return (fd, UInt64(info.st_size))
    }
}
