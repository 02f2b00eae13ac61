import SwiftletCore
import Synchronization

/// A virtio entropy device (virtio 1.x §5.4): one queue of device-writable buffers, each
/// filled with random bytes from an `EntropySource` (the host's getrandom).
///
/// The guest decides how large a request is, so each is served up to `maxBytesPerRequest`;
/// the used length tells the driver how much it got, and it asks again for the rest. A chain
/// with a device-readable buffer is not a request: it is returned empty and counted.
public final class VirtioRng: VirtioDevice, BuildableFromState {
    public static let queueSize: UInt16 = 256
    /// Bounds the host work (and the time on the device queue) one request can ask for.
    public static let maxBytesPerRequest = 64 << 10

    /// The device has no configuration: it is the same device whatever the VM did with it.
    public struct State: Codable, Sendable, Equatable {
        public init() {}
    }

    /// For the metrics and tests.
    public struct Counters: Sendable, Equatable {
        public var requests: UInt64 = 0
        public var bytes: UInt64 = 0
        /// Chains with a device-readable buffer or no room at all.
        public var malformedRequests: UInt64 = 0
        /// The entropy source failed; the request was returned empty.
        public var sourceFailures: UInt64 = 0
    }

    public let name = "virtio-rng"
    public let deviceType: UInt16 = 4
    public let deviceFeatures: UInt64 = 0
    public let queueMaxSizes: [UInt16] = [VirtioRng.queueSize]
    public let configSpaceSize = 0

    private let source: any EntropySource
    /// Updated on the device's I/O queue, read by the metrics writer.
    private let counts = Mutex(Counters())

    public init(source: any EntropySource = HostEntropy()) {
        self.source = source
    }

    public var counters: Counters { counts.withLock { $0 } }

    // MARK: - VirtioDevice

    public func readConfig(offset: Int, data: UnsafeMutableRawBufferPointer) { data.fillWithZeros() }
    public func writeConfig(offset: Int, data: UnsafeRawBufferPointer) {}
    public func activate(features: UInt64) throws {}
    /// No request state survives between calls.
    public func reset() {}

    public func process(queue: Virtqueue) throws {
        try queue.serveAvailableChains(fill)
    }

    /// Fills the chain's buffers in order, up to the per-request bound; returns the bytes written.
    private func fill(_ chain: DescriptorChain) throws(VirtqueueError) -> UInt32 {
        let writable = chain.writable
        guard chain.readable.isEmpty, writable.contains(where: { $0.length > 0 }) else {
            counts.withLock { $0.malformedRequests += 1 }
            return 0
        }
        var written = 0
        for buffer in writable where written < Self.maxBytesPerRequest {
            let destination = try chain.writableContents(of: buffer)
            let count = min(destination.count, Self.maxBytesPerRequest - written)
            do {
                try source.fill(UnsafeMutableRawBufferPointer(rebasing: destination[0..<count]))
            } catch {
                counts.withLock { $0.sourceFailures += 1 }
                return 0
            }
            written += count
        }
        counts.withLock { counters in
            counters.requests += 1
            counters.bytes += UInt64(written)
        }
        return UInt32(written)
    }

    // MARK: - Snapshot

    public func saveState() -> State { State() }

    public convenience init(restoring state: State) throws {
        self.init()
    }
}
