import Foundation
import Testing
@testable import Machine

private let pageSize = SparseMemoryWriter.pageSize

private func temporaryPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID()).mem").path
}

/// The data extents of the file at `path`, as page indices (SEEK_DATA/4)  // SEEK_HOLE.
private func dataPages(_ path: String) throws -> [Int] {
    let fd = open(path, O_RDONLY)
    try #require(fd >= 0)
    defer { close(fd) }
    let size = lseek(fd, 0, SEEK_END)
    var pages: [Int] = []
    var offset: off_t = 0
    while offset < size {
        let start = lseek(fd, offset, 3)  // SEEK_DATA
        if start < 0 { break }
        let end = lseek(fd, start, 4)  // SEEK_HOLE
        pages += Array(Int(start) / pageSize..<(Int(end) + pageSize - 1) / pageSize)
        offset = end
    }
    return pages
}

@Suite struct DirtyPageWriterTests {
    @Test func writesExactlyTheDirtyPagesEvenWhenZero() throws {
        let pages = 130
        var memory = [UInt8](repeating: 0, count: pages * pageSize)
        // Page 3 has data but is clean: it must not be written. Pages 5 and 64 are dirty zeros.
        for page in [3, 6, 65, 129] { memory[page * pageSize + 17] = UInt8(page) }
        var dirty: [UInt64] = [0, 0, 0]
        for page in [5, 6, 64, 65, 129] { dirty[page / 64] |= 1 << UInt64(page % 64) }
        let path = temporaryPath("diff")
        defer { unlink(path) }
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        defer { close(fd) }
        let offset = 2 * pageSize
        try memory.withUnsafeBytes { bytes in
            try SparseMemoryWriter.writeDirty(bytes.baseAddress!, count: bytes.count, dirty: dirty, to: fd, at: offset, path: path)
        }
        #expect(ftruncate(fd, off_t(offset + memory.count)) == 0)
        #expect(try dataPages(path) == [5, 6, 64, 65, 129].map { $0 + 2 })
        let written = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        for page in 0..<pages {
            let slice = Array(written[(offset + page * pageSize)..<(offset + (page + 1) * pageSize)])
            let expected = [5, 6, 64, 65, 129].contains(page) ? Array(memory[(page * pageSize)..<((page + 1) * pageSize)]) : [UInt8](repeating: 0, count: pageSize)
            #expect(slice == expected, "page \(page)")
        }
    }

    @Test func noDirtyPagesWritesNothing() throws {
        let memory = [UInt8](repeating: 9, count: 8 * pageSize)
        let path = temporaryPath("empty-diff")
        defer { unlink(path) }
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        defer { close(fd) }
        try memory.withUnsafeBytes { bytes in
            try SparseMemoryWriter.writeDirty(bytes.baseAddress!, count: bytes.count, dirty: [0], to: fd, at: 0, path: path)
        }
        var info = stat()
        #expect(fstat(fd, &info) == 0 && info.st_size == 0)
    }
}

@Suite struct SnapshotRebaseTests {
    /// A base of `pages` pages, every byte non-zero, and a diff of the same size holding
    /// `diffPages` (content by page), the rest holes.
    func makeFiles(pages: Int, diffPages: [Int: UInt8]) throws -> (base: String, diff: String, expected: [UInt8]) {
        var baseBytes = [UInt8](repeating: 0, count: pages * pageSize)
        for index in baseBytes.indices { baseBytes[index] = UInt8(truncatingIfNeeded: index % 251 + 1) }
        let base = temporaryPath("base"), diff = temporaryPath("diff")
        try Data(baseBytes).write(to: URL(fileURLWithPath: base))
        let fd = open(diff, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        defer { close(fd) }
        #expect(ftruncate(fd, off_t(pages * pageSize)) == 0)
        var expected = baseBytes
        for (page, value) in diffPages {
            let content = [UInt8](repeating: value, count: pageSize)
            let written = content.withUnsafeBytes { pwrite(fd, $0.baseAddress, pageSize, off_t(page * pageSize)) }
            #expect(written == pageSize)
            expected.replaceSubrange((page * pageSize)..<((page + 1) * pageSize), with: content)
        }
        return (base, diff, expected)
    }

    @Test func copiesTheDiffsExtentsIncludingAZeroPage() throws {
        // Page 4 is a dirty page the guest zeroed: it must overwrite the base's data.
        let files = try makeFiles(pages: 300, diffPages: [0: 0xAA, 4: 0, 5: 0xBB, 6: 0xCC, 299: 0xDD])
        defer { unlink(files.base); unlink(files.diff) }
        #expect(try dataPages(files.diff) == [0, 4, 5, 6, 299])
        let result = try SnapshotRebase.rebase(baseFile: files.base, diffFile: files.diff)
        #expect(result.bytesCopied == UInt64(5 * pageSize))
        #expect(result.extents == 3)
        let merged = try [UInt8](Data(contentsOf: URL(fileURLWithPath: files.base)))
        // elementsEqual, not ==: Swift Testing would diff 1.2 MB element by element on a mismatch.
        #expect(merged.elementsEqual(files.expected), "the merged base differs from base + diff")
        #expect(merged[4 * pageSize..<5 * pageSize].allSatisfy { $0 == 0 })
        // The diff is left as it was.
        #expect(try dataPages(files.diff) == [0, 4, 5, 6, 299])
    }

    @Test func anEmptyDiffChangesNothing() throws {
        let files = try makeFiles(pages: 16, diffPages: [:])
        defer { unlink(files.base); unlink(files.diff) }
        #expect(try SnapshotRebase.rebase(baseFile: files.base, diffFile: files.diff) == .init(bytesCopied: 0, extents: 0))
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: files.base))) == files.expected)
    }

    @Test func refusesFilesOfDifferentSizes() throws {
        let files = try makeFiles(pages: 16, diffPages: [1: 1])
        defer { unlink(files.base); unlink(files.diff) }
        #expect(truncate(files.diff, off_t(17 * pageSize)) == 0)
        #expect {
            try SnapshotRebase.rebase(baseFile: files.base, diffFile: files.diff)
        } throws: { error in
            "\(error)".contains("has \(16 * pageSize) bytes but the diff") && "\(error)".contains("\(17 * pageSize)")
        }
        // The base is untouched: page 1 still holds its own bytes, not the diff's.
        let base = try [UInt8](Data(contentsOf: URL(fileURLWithPath: files.base)))
        #expect(base.count == 16 * pageSize && base[pageSize] != 1)
    }

    @Test func refusesMissingFiles() throws {
        let files = try makeFiles(pages: 4, diffPages: [:])
        defer { unlink(files.base); unlink(files.diff) }
        #expect {
            try SnapshotRebase.rebase(baseFile: "/nonexistent/base.mem", diffFile: files.diff)
        } throws: { "\($0)" == "cannot open the base memory file: open /nonexistent/base.mem: No such file or directory" }
        #expect {
            try SnapshotRebase.rebase(baseFile: files.base, diffFile: "/nonexistent/diff.mem")
        } throws: { "\($0)" == "cannot open the diff memory file: open /nonexistent/diff.mem: No such file or directory" }
        #expect {
            try SnapshotRebase.rebase(baseFile: "/tmp", diffFile: files.diff)
        } throws: { "\($0)".contains("/tmp") }
    }
}
