/// A fixed-capacity FIFO of bytes: appends past the capacity are refused (and counted by
/// the caller), and taking the oldest byte is O(1). Device buffers a guest can fill use it,
/// so a guest that never reads cannot grow the VMM.
struct ByteRing: Sendable, Equatable {
    let capacity: Int
    private var storage: [UInt8]
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        storage = Array(repeating: 0, count: capacity)
    }

    var isEmpty: Bool { count == 0 }
    var isFull: Bool { count == capacity }

    /// Appends `byte` unless the ring is full; returns whether it was kept.
    @discardableResult
    mutating func append(_ byte: UInt8) -> Bool {
        guard !isFull else { return false }
        storage[(head + count) % capacity] = byte
        count += 1
        return true
    }

    /// Appends as many of `bytes` as fit; returns how many were kept.
    @discardableResult
    mutating func append<Bytes: Sequence>(contentsOf bytes: Bytes) -> Int where Bytes.Element == UInt8 {
        var kept = 0
        for byte in bytes {
            guard append(byte) else { break }
            kept += 1
        }
        return kept
    }

    mutating func removeFirst() -> UInt8? {
        guard !isEmpty else { return nil }
        let byte = storage[head]
        head = (head + 1) % capacity
        count -= 1
        return byte
    }

    mutating func removeAll() {
        head = 0
        count = 0
    }

    /// The bytes from oldest to newest.
    var contents: [UInt8] { (0..<count).map { storage[(head + $0) % capacity] } }
}
