/// Writes guest RAM to the memory file, leaving all-zero pages as holes.
///
/// Most of a guest's RAM is usually untouched, and reading an untouched anonymous page costs
/// nothing (the kernel's shared zero page), so skipping zero pages turns a snapshot of a
/// mostly idle 1 GiB guest from a gigabyte of writes into a few megabytes. Holes read back as
/// zeros through the `MAP_PRIVATE` mapping restore uses, so the file format does not change.
/// `mincore` is not used to skip pages: for a VM that was itself restored, guest RAM is a file
/// mapping whose pages may be unread yet hold data.
enum SparseMemoryWriter {
    static let pageSize = 4096

    /// Writes `count` bytes at `source` to `fd` at `fileOffset`, zero pages as holes. The caller
    /// sizes the file with `ftruncate` afterwards so trailing holes count.
    static func write(_ source: UnsafeRawPointer, count: Int, to fd: Int32, at fileOffset: Int, path: String) throws(SnapshotFileError) {
        var runStart: Int?
        var page = 0
        while page < count {
            let length = min(pageSize, count - page)
            if isZero(source + page, length) {
                if let start = runStart {
                    try writeRun(source + start, length: page - start, fd: fd, offset: fileOffset + start, path: path)
                    runStart = nil
                }
            } else if runStart == nil {
                runStart = page
            }
            page += length
        }
        if let start = runStart {
            try writeRun(source + start, length: count - start, fd: fd, offset: fileOffset + start, path: path)
        }
    }

    /// Writes the pages of `source` whose bit is set in `dirty` (one bit per page, 64 pages a
    /// word), each explicitly even when all zeros: a zero page that changed must overwrite the
    /// base's data when the diff is rebased. Clean pages stay holes.
    static func writeDirty(_ source: UnsafeRawPointer, count: Int, dirty: [UInt64], to fd: Int32, at fileOffset: Int, path: String) throws(SnapshotFileError) {
        let pageCount = (count + pageSize - 1) / pageSize
        func isDirty(_ page: Int) -> Bool { page / 64 < dirty.count && dirty[page / 64] & (1 << UInt64(page % 64)) != 0 }
        var page = 0
        while page < pageCount {
            guard isDirty(page) else {
                page += 1
                continue
            }
            let first = page
            while page < pageCount, isDirty(page) { page += 1 }
            let start = first * pageSize, end = min(page * pageSize, count)
            try writeRun(source + start, length: end - start, fd: fd, offset: fileOffset + start, path: path)
        }
    }

    static func isZero(_ pointer: UnsafeRawPointer, _ length: Int) -> Bool {
        let words = length / 8
        var accumulated: UInt64 = 0
        for index in 0..<words { accumulated |= pointer.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self) }
        for index in (words * 8)..<length { accumulated |= UInt64(pointer.load(fromByteOffset: index, as: UInt8.self)) }
        return accumulated == 0
    }

    private static func writeRun(_ source: UnsafeRawPointer, length: Int, fd: Int32, offset: Int, path: String) throws(SnapshotFileError) {
        try SnapshotFile.writeAll(fd, UnsafeRawBufferPointer(start: source, count: length), at: UInt64(offset), path: path)
    }
}
