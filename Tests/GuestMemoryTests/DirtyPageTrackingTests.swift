import SwiftletCore
import Testing
@testable import GuestMemory

/// The software dirty-page bitmap: every VMM write path marks the pages it touches, reads
/// do not, and `take()` hands the bits over and clears them.
@Suite struct DirtyPageBitmapTests {
    @Test func marksEveryPageARangeTouches() {
        let bitmap = DirtyPageBitmap(pageCount: 200)
        bitmap.mark(offset: 4095, length: 2)  // straddles pages 0 and 1
        bitmap.mark(offset: 63 * 4096, length: 3 * 4096)  // pages 63-65, across a word boundary
        bitmap.mark(offset: 199 * 4096 + 10, length: 1)
        let dirty = (0..<200).filter { bitmap.isDirty(page: $0) }
        #expect(dirty == [0, 1, 63, 64, 65, 199])
        #expect(bitmap.dirtyCount == 6)
    }

    @Test func aWholeWordAndAnEmptyWriteAndTheEnd() {
        let bitmap = DirtyPageBitmap(pageCount: 130)
        bitmap.mark(offset: 64 * 4096, length: 64 * 4096)
        bitmap.mark(offset: 5 * 4096, length: 0)
        // A range running past the end marks only the pages that exist.
        bitmap.mark(offset: 129 * 4096, length: 10 * 4096)
        let words = bitmap.take()
        #expect(words == [0, ~0, 0b10])
    }

    @Test func takeClearsTheBits() {
        let bitmap = DirtyPageBitmap(pageCount: 64)
        bitmap.mark(offset: 0, length: 1)
        #expect(bitmap.take() == [1])
        #expect(bitmap.take() == [0])
        #expect(!bitmap.isDirty(page: 0))
    }

    @Test func concurrentMarksAreAllKept() async {
        let bitmap = DirtyPageBitmap(pageCount: 4096)
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for page in stride(from: task, to: 4096, by: 8) { bitmap.mark(offset: UInt64(page) * 4096, length: 1) }
                }
            }
        }
        #expect(bitmap.dirtyCount == 4096)
    }
}

@Suite struct GuestMemoryDirtyTrackingTests {
    func memory(tracking: Bool = true) throws -> GuestMemory {
        try GuestMemory(
            layout: [AddressRange(start: 0, length: 0x10000)!, AddressRange(start: 0x10_0000, length: 0x2000)!], trackDirtyPages: tracking)
    }

    func dirtyPages(_ memory: GuestMemory) -> [[Int]] {
        memory.dirtyPages!.map { bitmap in (0..<bitmap.pageCount).filter { bitmap.isDirty(page: $0) } }
    }

    @Test func untrackedMemoryHasNoBitmap() throws {
        let memory = try memory(tracking: false)
        #expect(memory.dirtyPages == nil)
        #expect(!memory.tracksDirtyPages)
        try memory.write(UInt8(1), at: 0)
        memory.markDirty(0, length: 1)  // harmless
    }

    @Test func everyWritePathMarks() throws {
        let memory = try memory()
        try memory.write(UInt32(7), at: 0x1FFE)  // pages 1 and 2
        try memory.write(bytes: [1, 2, 3], at: 0x5000)
        try memory.fill(0, at: 0x7000, count: 0x1001)  // pages 7 and 8: zeros written still count
        _ = try memory.buffer(at: 0x10_1000, length: 16)  // a mutable buffer handed out
        _ = try memory.hostPointer(at: 0xA000, length: 1)
        memory.markDirty(0xC123, length: 1)
        #expect(dirtyPages(memory) == [[1, 2, 5, 7, 8, 10, 12], [1]])
    }

    @Test func readsDoNotMark() throws {
        let memory = try memory()
        _ = try memory.read(UInt64.self, at: 0x3000)
        _ = try memory.readBytes(at: 0x4000, count: 100)
        _ = try memory.readOnlyBuffer(at: 0x10_0000, length: 0x2000)
        #expect(dirtyPages(memory) == [[], []])
    }

    @Test func outOfBoundsWritesMarkNothing() throws {
        let memory = try memory()
        #expect(throws: GuestMemoryError.self) { try memory.write(UInt32(1), at: 0xFFFE) }
        memory.markDirty(0x20_0000, length: 4)
        #expect(dirtyPages(memory) == [[], []])
    }
}
