#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import SwiftletCore
import Synchronization
import Testing
@testable import Devices

/// A device that only answers with its name; the bus's answer is what these tests check.
/// Given a base and a log, it also checks each 8-byte write, whose data is the address the
/// writer meant: the bus must have routed it here with the offset from that base.
final class NamedBusDevice: BusDevice {
    let name: String
    let base: UInt64?
    let log: FailureLog?
    init(_ name: String, base: UInt64? = nil, log: FailureLog? = nil) {
        self.name = name
        self.base = base
        self.log = log
    }
    func read(offset: UInt64, data: UnsafeMutableRawBufferPointer) { data.fillWithZeros() }
    func write(offset: UInt64, data: UnsafeRawBufferPointer) {
        guard let base, let log, data.count == 8 else { return }
        let address = data.loadUnaligned(as: UInt64.self)
        if address &- offset != base { log.add("\(name): 0x\(String(address, radix: 16)) arrived at offset \(offset)") }
    }
}

/// What concurrent readers and devices found wrong (the first few of it).
final class FailureLog: Sendable {
    private let entries = Mutex<[String]>([])
    func add(_ text: String) { entries.withLock { if $0.count < 20 { $0.append(text) } } }
    var all: [String] { entries.withLock { $0 } }
}

/// The bus's routing table: bisection at every boundary, the overlap checks against both
/// neighbours, and tables replaced while other threads route accesses.
@Suite struct BusTableTests {
    /// Where `bus` sends an access, as (device name, offset); nil for an unclaimed one.
    static func route(_ bus: Bus, _ address: UInt64, count: Int = 1) -> (String, UInt64)? {
        guard let (device, offset) = bus.resolve(address, count: count) else { return nil }
        return ((device as? NamedBusDevice)?.name ?? "?", offset)
    }

    static func expectRoute(_ bus: Bus, _ address: UInt64, count: Int = 1, _ expected: (String, UInt64)?, sourceLocation: SourceLocation = #_sourceLocation) {
        let got = route(bus, address, count: count)
        #expect(got?.0 == expected?.0 && got?.1 == expected?.1, "0x\(String(address, radix: 16)) ×\(count): \(String(describing: got))", sourceLocation: sourceLocation)
    }

    @Test func everyBoundaryOfAdjacentAndSeparateRangesRoutesToTheRightDevice() throws {
        let bus = Bus()
        // Inserted out of order; two of them adjacent, one at address 0, one ending at 2^64.
        try bus.insert(NamedBusDevice("c"), base: 0x200, length: 1)
        try bus.insert(NamedBusDevice("b"), base: 0x108, length: 8)
        try bus.insert(NamedBusDevice("top"), base: UInt64.max - 7, length: 8)
        try bus.insert(NamedBusDevice("a"), base: 0x100, length: 8)
        try bus.insert(NamedBusDevice("zero"), base: 0, length: 4)
        #expect(bus.ranges.map(\.start) == [0, 0x100, 0x108, 0x200, UInt64.max - 7])

        Self.expectRoute(bus, 0, ("zero", 0))
        Self.expectRoute(bus, 3, ("zero", 3))
        Self.expectRoute(bus, 4, nil)
        Self.expectRoute(bus, 0xFF, nil)
        Self.expectRoute(bus, 0x100, ("a", 0))
        Self.expectRoute(bus, 0x107, ("a", 7))
        Self.expectRoute(bus, 0x108, ("b", 0))
        Self.expectRoute(bus, 0x10F, ("b", 7))
        Self.expectRoute(bus, 0x110, nil)
        Self.expectRoute(bus, 0x1FF, nil)
        Self.expectRoute(bus, 0x200, ("c", 0))
        Self.expectRoute(bus, 0x201, nil)
        Self.expectRoute(bus, UInt64.max - 8, nil)
        Self.expectRoute(bus, UInt64.max - 7, ("top", 0))
        Self.expectRoute(bus, UInt64.max, ("top", 7))

        // Whole accesses at the ends, and ones straddling an end: refused even where the next
        // byte belongs to the adjacent device.
        Self.expectRoute(bus, 0x100, count: 8, ("a", 0))
        Self.expectRoute(bus, 0x104, count: 4, ("a", 4))
        Self.expectRoute(bus, 0x106, count: 4, nil)
        Self.expectRoute(bus, 0x10C, count: 4, ("b", 4))
        Self.expectRoute(bus, 0x10E, count: 4, nil)
        Self.expectRoute(bus, 0x200, count: 2, nil)
        Self.expectRoute(bus, UInt64.max - 7, count: 8, ("top", 0))
        Self.expectRoute(bus, UInt64.max - 3, count: 8, nil)
        Self.expectRoute(bus, UInt64.max, count: 2, nil)
        Self.expectRoute(bus, 0xFE, count: 4, nil)  // starts in the gap, ends inside "a"
    }

    @Test func anEmptyBusRoutesNothing() {
        let bus = Bus()
        Self.expectRoute(bus, 0, nil)
        Self.expectRoute(bus, UInt64.max, nil)
        #expect(bus.read64(0x80) == UInt64.max)
    }

    @Test func aRangeOverlappingEitherNeighbourOrBothIsRefusedAndChangesNothing() throws {
        let bus = Bus()
        try bus.insert(NamedBusDevice("a"), base: 0x100, length: 0x10)
        try bus.insert(NamedBusDevice("b"), base: 0x200, length: 0x10)
        let refused: [(UInt64, UInt64)] = [
            (0x100, 1),  // same start
            (0x10F, 1),  // a's last byte
            (0xF0, 0x11),  // ends on a's first byte
            (0x1F0, 0x11),  // ends on b's first byte
            (0x10F, 0xF2),  // a's last byte to b's first
            (0x80, 0x200),  // covers both
            (0x104, 4),  // inside a
            (0x20F, 0x100),  // b's last byte onwards
        ]
        for (base, length) in refused {
            #expect(throws: Bus.Error.overlap(AddressRange(start: base, length: length)!)) {
                try bus.insert(NamedBusDevice("x"), base: base, length: length)
            }
        }
        #expect(bus.ranges == [AddressRange(start: 0x100, length: 0x10)!, AddressRange(start: 0x200, length: 0x10)!])
        // The gaps themselves, to the byte, are free.
        try bus.insert(NamedBusDevice("gap"), base: 0x110, length: 0xF0)
        try bus.insert(NamedBusDevice("below"), base: 0, length: 0x100)
        try bus.insert(NamedBusDevice("above"), base: 0x210, length: 1)
        #expect(bus.ranges.map(\.start) == [0, 0x100, 0x110, 0x200, 0x210])
    }

    @Test func removeReleasesOnlyTheDevicesRangeAtThatBase() throws {
        let bus = Bus()
        let moving = NamedBusDevice("moving"), other = NamedBusDevice("other")
        try bus.insert(moving, base: 0x1000, length: 0x100)
        try bus.insert(moving, base: 0x3000, length: 0x100)
        try bus.insert(other, base: 0x2000, length: 0x100)
        bus.remove(other, base: 0x1000)  // another device's range: kept
        bus.remove(moving, base: 0x1080)  // not a start: kept
        #expect(bus.ranges.count == 3)
        bus.remove(moving, base: 0x1000)
        Self.expectRoute(bus, 0x1000, nil)
        Self.expectRoute(bus, 0x3000, ("moving", 0))
        Self.expectRoute(bus, 0x2000, ("other", 0))
        try bus.insert(NamedBusDevice("new"), base: 0x1000, length: 0x100)
        Self.expectRoute(bus, 0x10FF, ("new", 0xFF))
    }

    @Test func aRemovedDeviceAndTheTablesThatHeldItAreFreed() throws {
        let bus = Bus()
        weak var released: NamedBusDevice?
        try {
            let device = NamedBusDevice("gone")
            released = device
            try bus.insert(device, base: 0x1000, length: 0x10)
            Self.expectRoute(bus, 0x1000, ("gone", 0))
            bus.remove(device, base: 0x1000)
        }()
        #expect(released == nil)
    }

    @Test func aReaderFollowsEveryChangeMadeAfterItWasCreated() throws {
        let bus = Bus()
        let reader = bus.reader()
        let device = RecordingBusDevice()
        var byte: UInt8 = 0
        func readByte(_ address: UInt64) -> Bool { withUnsafeMutableBytes(of: &byte) { reader.read(address: address, data: $0) } }
        #expect(!readByte(0x100) && byte == 0xFF)
        try bus.insert(device, base: 0x100, length: 8)
        #expect(readByte(0x107) && byte == 0)
        #expect(withUnsafeBytes(of: UInt16(0xABCD)) { reader.write(address: 0x106, data: $0) })
        #expect(!withUnsafeBytes(of: UInt16(0xABCD)) { reader.write(address: 0x107, data: $0) })  // straddles the end
        bus.remove(device, base: 0x100)
        #expect(!readByte(0x100) && byte == 0xFF)
        #expect(device.accesses.withLock { $0.map { [$0.offset, UInt64($0.count), $0.write ? 1 : 0] } } == [[7, 1, 0], [6, 2, 1]])
    }

    @Test func aReaderLetsGoOfAReplacedTableAtItsNextAccess() throws {
        let bus = Bus()
        let reader = bus.reader()
        weak var released: NamedBusDevice?
        try {
            let device = NamedBusDevice("gone")
            released = device
            try bus.insert(device, base: 0x1000, length: 0x10)
            #expect(withUnsafeBytes(of: UInt8(1)) { reader.write(address: 0x1000, data: $0) })
            bus.remove(device, base: 0x1000)
        }()
        // The reader still holds the table it routed through…
        #expect(released != nil)
        // …until its next access, which loads the new one.
        #expect(!withUnsafeBytes(of: UInt8(1)) { reader.write(address: 0x1000, data: $0) })
        #expect(released == nil)
    }

    // MARK: - Replacement under concurrent readers

    /// Stable devices that are never removed, with gaps between them that are never claimed,
    /// and a window where `MovingDevice`s come and go.
    static let stable: [(name: String, range: AddressRange)] = [
        ("s0", AddressRange(start: 0x1000, length: 0x10)!),
        ("s1", AddressRange(start: 0x3000, length: 0x10)!),
        ("s2", AddressRange(start: 0x5000, length: 0x10)!),
    ]
    static let window = AddressRange(start: 0x2000, length: 0x800)!
    static let gaps: [UInt64] = [0x0FFF, 0x1010, 0x2FFF, 0x3010, 0x4FFF, 0x5010, 0x1_0000]

    /// A device the writer maps at one of two bases, like a BAR the guest moves: wherever the
    /// bus routes an access to it, the access must lie inside one of them (checked by the
    /// readers for `resolve`, and by the device for 8-byte writes through a `Bus.Reader`).
    final class MovingDevice: BusDevice {
        let bases: [UInt64]
        let log: FailureLog?
        static let length: UInt64 = 0x40
        init(bases: [UInt64], log: FailureLog? = nil) {
            self.bases = bases
            self.log = log
        }
        func read(offset: UInt64, data: UnsafeMutableRawBufferPointer) {}
        func write(offset: UInt64, data: UnsafeRawBufferPointer) {
            guard let log, data.count == 8 else { return }
            let address = data.loadUnaligned(as: UInt64.self)
            if !bases.contains(address &- offset) || offset + 8 > Self.length {
                log.add("moving \(bases): 0x\(String(address, radix: 16)) arrived at offset \(offset)")
            }
        }
    }

    /// Runs `readers` threads that route accesses and check every answer, through the bus
    /// and through a `Bus.Reader` each, while `write` runs on this thread; failures go to
    /// `log`. Returns how many accesses the readers routed.
    static func routeConcurrently(_ bus: Bus, readers: Int, log: FailureLog, while write: () throws -> Void) rethrows -> Int {
        let done = Atomic<Bool>(false)
        let lookups = Atomic<Int>(0)
        let started = Atomic<Int>(0)
        let group = DispatchGroup()
        for reader in 0..<readers {
            group.enter()
            Thread {
                defer { group.leave() }
                var round: UInt64 = UInt64(reader)
                var count = 0
                func fail(_ text: String) { log.add(text) }
                let view = bus.reader()
                started.wrappingAdd(1, ordering: .relaxed)
                repeat {
                    round &+= 1
                    for (name, range) in stable {
                        let offset = round % range.length
                        let got = route(bus, range.start + offset)
                        if got?.0 != name || got?.1 != offset { fail("stable \(name)+\(offset): \(String(describing: got))") }
                    }
                    for gap in gaps where route(bus, gap) != nil { fail("gap 0x\(String(gap, radix: 16)) claimed") }
                    // Every width at a spread of addresses in the moving window.
                    for width in [1, 2, 4, 8] {
                        let address = window.start + (round &* 13) % window.length
                        guard let (device, offset) = bus.resolve(address, count: width) else { continue }
                        guard let moving = device as? MovingDevice else {
                            fail("window 0x\(String(address, radix: 16)) routed to a stable device")
                            continue
                        }
                        let base = address &- offset
                        if !moving.bases.contains(base) || offset + UInt64(width) > MovingDevice.length {
                            fail("window 0x\(String(address, radix: 16)) ×\(width) → offset \(offset), base 0x\(String(base, radix: 16)) not \(moving.bases)")
                        }
                    }
                    // The same through the reader: devices check the 8-byte writes.
                    for (name, range) in stable {
                        let address = range.start + round % (range.length - 7)
                        if !withUnsafeBytes(of: address, { view.write(address: address, data: $0) }) { fail("reader: stable \(name) unclaimed") }
                    }
                    for gap in gaps {
                        var byte: UInt8 = 0
                        if withUnsafeMutableBytes(of: &byte, { view.read(address: gap, data: $0) }) || byte != 0xFF {
                            fail("reader: gap 0x\(String(gap, radix: 16)) claimed")
                        }
                    }
                    let address = window.start + (round &* 7) % window.length
                    withUnsafeBytes(of: address) { _ = view.write(address: address, data: $0) }
                    count += 2 * (stable.count + gaps.count) + 5
                } while !done.load(ordering: .relaxed)
                // The writer has finished: the reader must now route exactly as the bus does,
                // not by some table it kept from before.
                for address in stride(from: window.start, to: window.start + window.length, by: 8) {
                    let claimed = withUnsafeBytes(of: address) { view.write(address: address, data: $0) }
                    if claimed != (bus.resolve(address, count: 8) != nil) { fail("reader: stale at 0x\(String(address, radix: 16))") }
                }
                lookups.wrappingAdd(count, ordering: .relaxed)
            }.start()
        }
        // The writer starts once every reader is routing, so that they overlap on a busy host.
        while started.load(ordering: .relaxed) < readers { usleep(100) }
        do {
            try write()
        } catch {
            done.store(true, ordering: .relaxed)
            group.wait()
            throw error
        }
        done.store(true, ordering: .relaxed)
        group.wait()
        return lookups.load(ordering: .relaxed)
    }

    @Test func readersAlwaysSeeAWholeTableWhileRangesAreInsertedMovedAndRemoved() throws {
        let bus = Bus()
        let log = FailureLog()
        for (name, range) in Self.stable { try bus.insert(NamedBusDevice(name, base: range.start, log: log), range: range) }
        // Each slot is a BAR-sized range in the window; a device moves between its two slots.
        let slots = (0..<UInt64(32)).map { Self.window.start + $0 * MovingDevice.length }
        var live: [(device: MovingDevice, base: UInt64)] = []
        var generator = SystemRandomNumberGenerator()
        let start = Date()
        let lookups = try Self.routeConcurrently(bus, readers: 3, log: log) {
            var changes = 0
            // Enough changes that readers overlap many replacements, with a floor on time so
            // that a slow (shared, 2-core) machine still interleaves them.
            while changes < 20_000 || Date().timeIntervalSince(start) < 0.5 {
                changes += 1
                let occupied = Set(live.map(\.base))
                let free = slots.filter { !occupied.contains($0) }
                switch generator.next() % 3 {
                case 0 where !free.isEmpty:
                    // A new device in a free slot, able to move to another free slot.
                    let first = free.randomElement(using: &generator)!
                    let second = free.randomElement(using: &generator)!
                    let device = MovingDevice(bases: [first, second], log: log)
                    try bus.insert(device, base: first, length: MovingDevice.length)
                    live.append((device, first))
                case 1 where !live.isEmpty:
                    // A BAR move: remove, then insert at the other base if that is free.
                    let index = Int(generator.next() % UInt64(live.count))
                    let (device, base) = live[index]
                    bus.remove(device, base: base)
                    let target = device.bases.first { $0 != base && !occupied.contains($0) } ?? base
                    try bus.insert(device, base: target, length: MovingDevice.length)
                    live[index].base = target
                case 2 where !live.isEmpty:
                    let (device, base) = live.remove(at: Int(generator.next() % UInt64(live.count)))
                    bus.remove(device, base: base)
                default: break
                }
            }
        }
        #expect(log.all == [])
        #expect(lookups > 0)
        // The final table is exactly what the writer left: stable ranges plus the live ones.
        let expected = (Self.stable.map(\.range) + live.map { AddressRange(start: $0.base, length: MovingDevice.length)! }).sorted { $0.start < $1.start }
        #expect(bus.ranges == expected)
    }

    @Test func concurrentInsertsAndRemovesAreNeverLost() throws {
        let bus = Bus()
        let log = FailureLog()
        for (name, range) in Self.stable { try bus.insert(NamedBusDevice(name, base: range.start, log: log), range: range) }
        // 4 × 128 four-byte slots fill the 2 KiB window.
        let writers = 4, perWriter = 128
        _ = Self.routeConcurrently(bus, readers: 1, log: log) {
            let go = Atomic<Bool>(false)
            let group = DispatchGroup()
            for writer in 0..<writers {
                group.enter()
                Thread {
                    defer { group.leave() }
                    // Each writer owns every `writers`th slot in the window: it inserts all of
                    // them, then removes every other one, racing the other writers throughout.
                    let bases = (0..<perWriter).map { Self.window.start + UInt64($0 * writers + writer) * 4 }
                    let devices = bases.map { MovingDevice(bases: [$0], log: log) }
                    while !go.load(ordering: .relaxed) {}
                    for (device, base) in zip(devices, bases) { try? bus.insert(device, base: base, length: 4) }
                    for index in stride(from: 0, to: perWriter, by: 2) { bus.remove(devices[index], base: bases[index]) }
                }.start()
            }
            go.store(true, ordering: .relaxed)
            group.wait()
        }
        #expect(log.all == [])
        let moving = bus.ranges.filter { Self.window.contains($0.start) }
        #expect(moving.count == writers * perWriter / 2)
        #expect(moving.map(\.start) == moving.map(\.start).sorted())
    }
}
