#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import Testing
import GuestMemory
import SwiftletCore
@testable import Devices

/// virtio-net's receive queue driven from both sides at once, as in a real guest: the host keeps
/// frames coming (readiness events on the device's queue) while the driver recycles a few
/// buffers and kicks after each. Every frame must arrive once, in order, with nothing lost to a
/// missed wake-up and nothing reported broken.
@Suite struct NetConcurrencyTests {
    static let frameCount = 3000
    /// Buffers the driver keeps posted; each slot has its own buffer (NetHarness gives 8).
    static let postedBuffers: UInt16 = 8

    @Test func framesFromTheHostAndKicksFromTheDriverInterleave() throws {
        let harness = try NetHarness()
        try harness.start(features: 0)
        let memory = harness.memory
        for slot in 0..<Self.postedBuffers {
            try harness.receive.descriptor(slot, in: memory, address: NetHarness.receiveBufferAddress(slot), length: 2048, flags: DescriptorFlag.write)
            try harness.receive.publish(slot, in: memory)
        }
        try harness.kick(0)

        // The host side: frames numbered 0, 1, 2, ... in bursts of one to five with a pause
        // after each, so the device often reads the tap dry with buffers to spare and must be
        // woken by the next burst alone (the driver kicks only after it reposts buffers).
        let stop = Atomic<Bool>(false)
        let testEnd = harness.backend.testEnd
        let host = Thread {
            var number = 0
            while number < Self.frameCount && !stop.load(ordering: .relaxed) {
                for _ in 0..<(1 + number % 5) where number < Self.frameCount {
                    let frame = Self.frame(number)
                    while frame.withUnsafeBytes({ Glibc.send(testEnd, $0.baseAddress, $0.count, 0) }) != frame.count {
                        if stop.load(ordering: .relaxed) { return }
                        usleep(50)
                    }
                    number += 1
                }
                usleep(500)
            }
        }
        host.start()
        defer { stop.store(true, ordering: .relaxed) }

        var received = 0
        var consumed: UInt16 = 0
        let deadline = Date().addingTimeInterval(60)
        while received < Self.frameCount && Date() < deadline {
            let used = harness.receive.usedIndex(in: memory)
            let reposting = consumed != used
            while consumed != used {
                let (head, length) = try harness.receive.usedElement(consumed, in: memory)
                let slot = UInt16(truncatingIfNeeded: head)
                let expected = Self.frame(received)
                #expect(Int(length) == expected.count, "frame \(received): length \(length)")
                let payload = try memory.readBytes(at: GuestAddress(NetHarness.receiveBufferAddress(slot) + 12), count: expected.count - 12)
                guard payload == Array(expected[12...]) else {
                    Issue.record("frame \(received) arrived out of order or damaged")
                    return
                }
                received += 1
                consumed &+= 1
                try harness.receive.publish(slot, in: memory)
            }
            // Kick only after posting buffers, as a guest does, and without waiting for the
            // device: frames that come while every buffer is posted need the tap's readiness.
            if reposting {
                let address = try #require(harness.pci.transport.notifyAddress(queue: 0, barBase: harness.pci.bar))
                harness.pci.mmio.write(address, 0, width: 2)
            }
            usleep(20)
        }
        #expect(received == Self.frameCount, "only \(received) of \(Self.frameCount) frames arrived")
        #expect(harness.pci.errors.isEmpty, "\(harness.pci.errors)")
        #expect(harness.net.counters.received == Self.frameCount)
    }

    /// A small frame whose payload encodes `number`.
    static func frame(_ number: Int) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: 12)
        frame += withUnsafeBytes(of: UInt32(number).littleEndian, Array.init)
        frame += (0..<60).map { UInt8(truncatingIfNeeded: $0 &+ number) }
        return frame
    }
}
