import Foundation
import Testing
@testable import Machine

@Suite struct SparseMemoryWriterTests {
    @Test func zeroPagesBecomeHolesAndTheContentReadsBackExactly() throws {
        let pages = 64
        var memory = [UInt8](repeating: 0, count: pages * SparseMemoryWriter.pageSize + 100)
        for page in [1, 2, 7, 40] { memory[page * SparseMemoryWriter.pageSize + 5] = UInt8(page) }
        memory[memory.count - 1] = 0xAA  // a partial last page
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sparse-\(UUID()).mem").path
        defer { unlink(path) }
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        defer { close(fd) }
        let offset = 8192
        try memory.withUnsafeBytes { bytes in
            try SparseMemoryWriter.write(bytes.baseAddress!, count: bytes.count, to: fd, at: offset, path: path)
        }
        #expect(ftruncate(fd, off_t(offset + memory.count)) == 0)

        let written = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(written.count == offset + memory.count)
        #expect(Array(written[offset...]) == memory)
        #expect(written[..<offset].allSatisfy { $0 == 0 })
        var info = stat()
        #expect(fstat(fd, &info) == 0)
        // Five data pages (plus file-system slack) are allocated, not the whole file.
        #expect(Int(info.st_blocks) * 512 < memory.count / 2, "allocated \(info.st_blocks * 512) bytes")
    }

    @Test func zeroCheckLooksAtEveryByte() {
        var page = [UInt8](repeating: 0, count: 4099)
        #expect(page.withUnsafeBytes { SparseMemoryWriter.isZero($0.baseAddress!, $0.count) })
        for index in [0, 7, 8, 4095, 4098] {
            page[index] = 1
            #expect(!page.withUnsafeBytes { SparseMemoryWriter.isZero($0.baseAddress!, $0.count) }, "byte \(index)")
            page[index] = 0
        }
    }
}
