import GuestMemory
import SwiftletCore

/// One guest buffer of a descriptor chain.
///
/// Only `Virtqueue` makes these, after checking that the buffer lies inside guest RAM, and
/// only the chain it came from reads or writes it; so a device can never reach guest memory
/// outside what the driver handed it, and never has to re-check it.
public struct GuestBuffer: Sendable, Equatable {
    public let address: GuestAddress
    public let length: UInt32
    public let deviceWritable: Bool

    /// `memory` must hold the whole buffer; nil otherwise.
    static func checked(address: GuestAddress, length: UInt32, deviceWritable: Bool, in memory: GuestMemory) -> GuestBuffer? {
        guard memory.contains(address, length: UInt64(length)) else { return nil }
        return GuestBuffer(address: address, length: length, deviceWritable: deviceWritable)
    }

    private init(address: GuestAddress, length: UInt32, deviceWritable: Bool) {
        self.address = address
        self.length = length
        self.deviceWritable = deviceWritable
    }

    /// The first `count` bytes and the rest: two pieces of an already checked buffer.
    /// Nil when `count` is past the end.
    func split(at count: UInt32) -> (head: GuestBuffer, tail: GuestBuffer)? {
        guard count <= length, let tailAddress = address.adding(UInt64(count)) else { return nil }
        return (
            GuestBuffer(address: address, length: count, deviceWritable: deviceWritable),
            GuestBuffer(address: tailAddress, length: length - count, deviceWritable: deviceWritable)
        )
    }
}

/// A validated chain: device-readable buffers first, then device-writable ones, total
/// length below 4 GiB, every buffer inside guest RAM. Its buffers are read and written
/// through the chain, which knows the memory they were checked against.
public struct DescriptorChain: Sendable, Equatable {
    public let head: UInt16
    public let buffers: [GuestBuffer]
    private let memory: GuestMemory

    init(head: UInt16, buffers: [GuestBuffer], memory: GuestMemory) {
        self.head = head
        self.buffers = buffers
        self.memory = memory
    }

    public var readable: [GuestBuffer] { buffers.filter { !$0.deviceWritable } }
    public var writable: [GuestBuffer] { buffers.filter { $0.deviceWritable } }

    /// The bytes of `buffers`, concatenated.
    public func readBytes(of buffers: [GuestBuffer]) throws(VirtqueueError) -> [UInt8] {
        var bytes: [UInt8] = []
        for buffer in buffers { bytes += try access { () throws(GuestMemoryError) in try memory.readBytes(at: buffer.address, count: Int(buffer.length)) } }
        return bytes
    }

    /// Guest RAM behind `buffer`, for reading it (e.g. the payload of a disk write).
    public func contents(of buffer: GuestBuffer) throws(VirtqueueError) -> UnsafeRawBufferPointer {
        try access { () throws(GuestMemoryError) in try memory.readOnlyBuffer(at: buffer.address, length: UInt64(buffer.length)) }
    }

    /// Guest RAM behind a device-writable `buffer`, for filling it (e.g. from a disk read).
    public func writableContents(of buffer: GuestBuffer) throws(VirtqueueError) -> UnsafeMutableRawBufferPointer {
        guard buffer.deviceWritable else { throw .writeToReadableBuffer }
        return try access { () throws(GuestMemoryError) in try memory.buffer(at: buffer.address, length: UInt64(buffer.length)) }
    }

    /// Stores `value` little-endian at the start of a device-writable `buffer`.
    public func write<T: FixedWidthInteger>(_ value: T, to buffer: GuestBuffer) throws(VirtqueueError) {
        guard buffer.deviceWritable else { throw .writeToReadableBuffer }
        guard MemoryLayout<T>.size <= Int(buffer.length) else { throw .bufferTooShort(needed: MemoryLayout<T>.size, length: buffer.length) }
        try access { () throws(GuestMemoryError) in try memory.write(value, at: buffer.address) }
    }

    /// Copies `bytes` across device-writable `buffers` in order; returns how many fit.
    @discardableResult
    public func write(_ bytes: [UInt8], to buffers: [GuestBuffer]) throws(VirtqueueError) -> Int {
        var written = 0
        for buffer in buffers where written < bytes.count {
            guard buffer.deviceWritable else { throw .writeToReadableBuffer }
            let count = min(Int(buffer.length), bytes.count - written)
            try access { () throws(GuestMemoryError) in try memory.write(bytes: bytes[written..<written + count], at: buffer.address) }
            written += count
        }
        return written
    }

    private func access<T>(_ body: () throws(GuestMemoryError) -> T) throws(VirtqueueError) -> T {
        do { return try body() } catch { throw .memory(error) }
    }

    public static func == (lhs: DescriptorChain, rhs: DescriptorChain) -> Bool {
        lhs.head == rhs.head && lhs.buffers == rhs.buffers && lhs.memory === rhs.memory
    }
}
