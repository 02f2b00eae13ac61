import Synchronization

/// One bit per 4 KiB page of a memory region, set when the VMM itself writes the page.
///
/// KVM's dirty log only sees the guest's own stores (through its page tables); what a virtio
/// device or the kernel loader writes through the host mapping never reaches it. A diff
/// snapshot ORs this bitmap with KVM's, so both kinds of writes are saved. Bits are set with
/// relaxed atomic ORs from any thread; `take()` swaps each word with zero.
///
/// - Note: `@unchecked Sendable`: the words are atomics, and the allocation never changes.
public final class DirtyPageBitmap: @unchecked Sendable {
    public static let pageSize: UInt64 = 4096

    /// How many pages the bitmap covers.
    public let pageCount: Int
    /// How many 64-bit words hold them (KVM's bitmap has the same shape).
    public let wordCount: Int
    private let words: UnsafeMutablePointer<Atomic<UInt64>>

    public init(pageCount: Int) {
        precondition(pageCount >= 0)
        self.pageCount = pageCount
        wordCount = (pageCount + 63) / 64
        words = .allocate(capacity: max(wordCount, 1))
        for index in 0..<max(wordCount, 1) { (words + index).initialize(to: Atomic(0)) }
    }

    deinit {
        words.deinitialize(count: max(wordCount, 1))
        words.deallocate()
    }

    /// Marks every page that `[offset, offset+length)` (bytes from the region's start) touches.
    public func mark(offset: UInt64, length: UInt64) {
        guard length > 0 else { return }
        let first = Int(offset / Self.pageSize)
        let last = min(Int((offset + length - 1) / Self.pageSize), pageCount - 1)
        guard first <= last else { return }
        var page = first
        while page <= last {
            let word = page / 64, bit = page % 64
            let bitsInWord = min(64 - bit, last - page + 1)
            let mask: UInt64 = bitsInWord == 64 ? ~0 : ((1 << UInt64(bitsInWord)) - 1) << UInt64(bit)
            // Most writes land on pages already marked: a load first saves the locked OR.
            if words[word].load(ordering: .relaxed) & mask != mask {
                words[word].bitwiseOr(mask, ordering: .relaxed)
            }
            page += bitsInWord
        }
    }

    public func isDirty(page: Int) -> Bool {
        guard page >= 0, page < pageCount else { return false }
        return words[page / 64].load(ordering: .relaxed) & (1 << UInt64(page % 64)) != 0
    }

    /// The bits set so far, one word per 64 pages, each word cleared as it is read.
    public func take() -> [UInt64] {
        (0..<wordCount).map { words[$0].exchange(0, ordering: .relaxed) }
    }

    /// The number of pages marked.
    public var dirtyCount: Int {
        (0..<wordCount).reduce(0) { $0 + words[$1].load(ordering: .relaxed).nonzeroBitCount }
    }
}
