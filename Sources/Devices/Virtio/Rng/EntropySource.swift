import SwiftletCore

#if canImport(Glibc)
import Glibc
#endif

/// Where a virtio-rng device's bytes come from.
public protocol EntropySource: Sendable {
    /// Fills all of `buffer`, or throws.
    func fill(_ buffer: UnsafeMutableRawBufferPointer) throws(SystemError)
}

/// The host kernel's random pool, through glibc's getentropy, which is getrandom(2) with no
/// flags: it blocks only until the pool is first initialised, early in the host's boot.
public struct HostEntropy: EntropySource {
    /// getentropy's limit per call.
    static let chunkBytes = 256

    public init() {}

    public func fill(_ buffer: UnsafeMutableRawBufferPointer) throws(SystemError) {
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let count = min(Self.chunkBytes, buffer.count - done)
            _ = try systemCall("getrandom") { getentropy(base + done, count) }
            done += count
        }
    }
}
