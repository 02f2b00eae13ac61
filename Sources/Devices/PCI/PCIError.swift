/// Why the VMM could not build or restore part of the PCI topology.
public enum PCIError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidBAR(index: Int)
    case overlappingBARs(index: Int)
    case capabilitySpaceFull
    case noFreeSlot
    case mmioWindowExhausted(needed: UInt64)
    case barPlacementFailed(slot: Int, bar: Int, base: UInt64)
    case stateMismatch(String)

    public var description: String {
        switch self {
        case .invalidBAR(let index): return "PCI BAR \(index) has an invalid size or index"
        case .overlappingBARs(let index): return "PCI BAR \(index) overlaps the upper half of a 64-bit BAR"
        case .capabilitySpaceFull: return "PCI capability list does not fit in configuration space"
        case .noFreeSlot: return "no free slot on PCI bus 0"
        case .mmioWindowExhausted(let needed): return "PCI MMIO window has no room for a \(needed)-byte BAR"
        case .barPlacementFailed(let slot, let bar, let base):
            return "PCI 00:\(slot).0 BAR \(bar) cannot be mapped at 0x\(String(base, radix: 16))"
        case .stateMismatch(let why): return "PCI state does not match this device: \(why)"
        }
    }
}
