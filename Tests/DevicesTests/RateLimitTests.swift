import Foundation
import SwiftletCore
import Testing
@testable import Devices

@Suite struct TokenBucketTests {
    let second: UInt64 = 1_000_000_000

    @Test func aBucketThatLimitsNothingIsNotBuilt() {
        #expect(TokenBucket(.init(size: 0, refillTimeMilliseconds: 100), now: 0) == nil)
        #expect(TokenBucket(.init(size: 100, refillTimeMilliseconds: 0), now: 0) == nil)
        #expect(RateLimiter(RateLimitConfiguration(), now: 0) == nil)
    }

    @Test func startsFullAndRefillsAtItsRate() throws {
        var bucket = try #require(TokenBucket(.init(size: 1000, refillTimeMilliseconds: 1000), now: 0))
        #expect(bucket.canTake(1000, now: 0))
        bucket.take(1000, now: 0)
        #expect(!bucket.canTake(1, now: 0))
        // 1000 tokens a second: a millisecond brings one back, and the wait says so.
        #expect(bucket.waitTime(for: 1, now: 0) > 999_000 && bucket.waitTime(for: 1, now: 0) <= 1_000_001)
        #expect(!bucket.canTake(1, now: 500_000))
        #expect(bucket.canTake(1, now: 1_000_001))
        // Never more than the size, however long it rested.
        bucket.take(1, now: 1_000_001)
        #expect(bucket.canTake(1, now: 100 * second))
        bucket.take(1000, now: 100 * second)
        #expect(!bucket.canTake(1, now: 100 * second))
    }

    @Test func aRequestLargerThanTheBucketGoesThroughAndLeavesADebt() throws {
        var bucket = try #require(TokenBucket(.init(size: 100, refillTimeMilliseconds: 1000), now: 0))
        // It needs the whole bucket, not more than the bucket can ever hold.
        bucket.take(1, now: 0)
        #expect(!bucket.canTake(350, now: 0))
        #expect(bucket.canTake(350, now: second / 100))
        bucket.take(350, now: second / 100)
        #expect(!bucket.canTake(1, now: 0))
        // 250 tokens owed at 100 a second from 10 ms on, then one for the next request: 2.52 s.
        #expect(!bucket.canTake(1, now: 2 * second))
        let wait = bucket.waitTime(for: 1, now: 2 * second)
        #expect(wait > 520_000_000 - 1000 && wait <= 520_000_000 + 1000)
        #expect(bucket.canTake(1, now: 2 * second + wait))
    }

    @Test func theOneTimeBurstIsSpentFirstAndNeverComesBack() throws {
        var bucket = try #require(TokenBucket(.init(size: 100, oneTimeBurst: 500, refillTimeMilliseconds: 1000), now: 0))
        bucket.take(500, now: 0)
        bucket.take(100, now: 0)
        #expect(!bucket.canTake(1, now: 0))
        bucket.take(0, now: 10 * second)
        bucket.take(100, now: 10 * second)
        #expect(!bucket.canTake(1, now: 10 * second))
    }

    @Test func bothBucketsMustAllowAndABlockedRequestTakesNothing() throws {
        var limiter = try #require(RateLimiter(
            .init(bandwidth: .init(size: 4096, refillTimeMilliseconds: 1000), operations: .init(size: 2, refillTimeMilliseconds: 1000)), now: 0))
        let first = limiter.admit(bytes: 1024, now: 0), second = limiter.admit(bytes: 1024, now: 0)
        #expect(first == nil && second == nil)
        // Out of operations though bytes remain: refused, and the bytes stay.
        let refused = limiter.admit(bytes: 1024, now: 0)
        let wait = try #require(refused)
        #expect(wait > 400_000_000 && wait <= 500_000_001)
        let later = limiter.admit(bytes: 2048, now: self.second)
        #expect(later == nil)
    }
}

/// A rate-limited disk served through the transport: requests past the budget stay in the ring
/// and complete on their own once the bucket has refilled, with no further kick.
@Suite struct RateLimitedBlockTests {
    @Test func readsBeyondTheBudgetWaitForTheRefill() throws {
        let disk = try TemporaryDisk(sectors: 16)
        // 512 bytes per 200 ms: one sector now, the next two at about 200 and 400 ms.
        let block = try VirtioBlock(
            path: disk.path, readOnly: false, id: "limited",
            rateLimit: .init(bandwidth: .init(size: 512, refillTimeMilliseconds: 200)))
        let harness = try VirtioHarness(device: block)
        try harness.start()
        let started = Date()
        var statuses: [UInt64] = []
        for (index, sector) in [UInt64(1), 2, 3].enumerated() {
            let buffer = DataBuffer(address: 0x40000 + UInt64(index) * 0x1000, length: 512, writable: true)
            statuses.append(try harness.postRequest(type: BlockRequestType.read, sector: sector, data: [buffer], firstDescriptor: UInt16(index * 4)))
        }
        try harness.kick()
        #expect(harness.usedIndex == 1)
        #expect(try harness.statusByte(statuses[1]) == 0xFF, "the second read must wait")
        #expect(pollUntil(seconds: 10) { harness.usedIndex == 3 }, "the waiting reads did not complete")
        #expect(Date().timeIntervalSince(started) >= 0.35)
        for (index, status) in statuses.enumerated() {
            #expect(try harness.statusByte(status) == BlockStatus.ok)
            #expect(try harness.memory.readBytes(at: 0x40000 + UInt64(index) * 0x1000, count: 512).allSatisfy { $0 == UInt8(index + 1) })
        }
        #expect(harness.errors.isEmpty)
    }

    @Test func anUnlimitedDiskAndARemovedLimitDoNotWait() throws {
        let disk = try TemporaryDisk(sectors: 16)
        let block = try VirtioBlock(
            path: disk.path, readOnly: false, id: "limited", rateLimit: .init(operations: .init(size: 1, refillTimeMilliseconds: 3_600_000)))
        let harness = try VirtioHarness(device: block)
        try harness.start()
        try harness.postRequest(type: BlockRequestType.flush, firstDescriptor: 0)
        try harness.postRequest(type: BlockRequestType.flush, firstDescriptor: 4)
        try harness.kick()
        #expect(harness.usedIndex == 1)
        // An hour per operation; lifting the limit lets the waiting flush through at once.
        block.setRateLimit(RateLimitConfiguration())
        #expect(pollUntil(seconds: 10) { harness.usedIndex == 2 }, "the waiting flush did not complete")
        #expect(block.saveState().rateLimit == RateLimitConfiguration())
    }
}

/// Rate-limited virtio-net: frames beyond the budget are held back, in the ring or in the
/// tap, and go on their own once the bucket has refilled; none is dropped.
@Suite struct RateLimitedNetTests {
    @Test func transmitBeyondTheBudgetWaitsInTheRing() throws {
        let frame = NetHarness.frame(payloadLength: 988, seed: 5)  // 1000 bytes with the header
        let harness = try NetHarness(transmitRateLimit: .init(bandwidth: .init(size: 1000, refillTimeMilliseconds: 300)))
        try harness.start(features: 0)
        try harness.postTransmit([frame], firstSlot: 0)
        try harness.postTransmit([frame], firstSlot: 1)
        let started = Date()
        try harness.kick(1)
        #expect(harness.backend.nextTransmitted() == frame)
        #expect(harness.transmit.usedIndex(in: harness.memory) == 1)
        #expect(pollUntil(seconds: 10) { harness.transmit.usedIndex(in: harness.memory) == 2 }, "the second frame was not sent")
        #expect(Date().timeIntervalSince(started) >= 0.25)
        #expect(harness.backend.nextTransmitted() == frame)
        #expect(harness.net.counters.transmitted == 2)
    }

    @Test func receiveBeyondTheBudgetWaitsInTheHost() throws {
        let harness = try NetHarness(receiveRateLimit: .init(operations: .init(size: 1, refillTimeMilliseconds: 300)))
        try harness.start(features: 0)
        try harness.postReceiveBuffers([2048, 2048, 2048])
        try harness.kick(0)
        let started = Date()
        for seed in [UInt8(1), 2, 3] { harness.backend.inject(NetHarness.frame(payloadLength: 100, seed: seed)) }
        #expect(harness.waitForReceived(1))
        #expect(pollUntil(seconds: 10) { harness.receive.usedIndex(in: harness.memory) == 3 }, "the held frames did not arrive")
        // One frame per 300 ms: the third about 600 ms after the first.
        #expect(Date().timeIntervalSince(started) >= 0.5)
        for slot in [UInt16(0), 1, 2] {
            let payload = try harness.memory.readBytes(at: GuestAddress(NetHarness.receiveBufferAddress(slot) + 12), count: 100)
            #expect(payload == Array(NetHarness.frame(payloadLength: 100, seed: UInt8(slot + 1))[12...]), "frame \(slot) out of order or damaged")
        }
        #expect(harness.net.counters.received == 3)
        #expect(harness.net.saveState().receiveRateLimit == .init(operations: .init(size: 1, refillTimeMilliseconds: 300)))
    }

    @Test func liftingTheLimitReleasesAHeldFrameAtOnce() throws {
        let harness = try NetHarness(transmitRateLimit: .init(operations: .init(size: 1, refillTimeMilliseconds: 3_600_000)))
        try harness.start(features: 0)
        let frame = NetHarness.frame(payloadLength: 200, seed: 9)
        try harness.postTransmit([frame], firstSlot: 0)
        try harness.postTransmit([frame], firstSlot: 1)
        try harness.kick(1)
        #expect(harness.transmit.usedIndex(in: harness.memory) == 1)
        harness.net.updateRateLimits(receive: nil, transmit: RateLimitConfiguration())
        #expect(pollUntil(seconds: 10) { harness.transmit.usedIndex(in: harness.memory) == 2 }, "the held frame was not sent")
        #expect(harness.net.transmitRateLimit == RateLimitConfiguration())
    }
}

/// Polls `condition` every 10 ms for up to `seconds`; whether it came true.
private func pollUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        guard Date() < deadline else { return false }
        usleep(10_000)
    }
    return true
}
