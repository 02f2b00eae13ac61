/// What a device declares about one of its base address registers.
///
/// Only memory BARs are modelled: every device here is reached over MMIO, and port-I/O
/// BARs would need a second allocator for a space Linux barely uses on a VM.
public struct PCIBARDefinition: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        /// One register; the address must stay below 4 GiB.
        case memory32
        /// A register pair (`index`, `index + 1`) holding a 64-bit address.
        case memory64
    }

    public let index: Int
    public let size: UInt64
    public let kind: Kind
    public let prefetchable: Bool

    public init(index: Int, size: UInt64, kind: Kind, prefetchable: Bool = false) {
        self.index = index
        self.size = size
        self.kind = kind
        self.prefetchable = prefetchable
    }

    /// The read-only low bits of the (low) register: space, type and prefetch.
    var typeBits: UInt32 {
        (kind == .memory64 ? 0b100 : 0) | (prefetchable ? 0b1000 : 0)
    }

    /// Sizes are powers of two; 4 KiB at least so that no two BARs share a page.
    var isValid: Bool {
        guard size >= 0x1000, size & (size - 1) == 0 else { return false }
        switch kind {
        case .memory32: return index >= 0 && index < 6 && size <= 0x8000_0000
        case .memory64: return index >= 0 && index < 5
        }
    }
}
