/// Turns the host's `KVM_GET_SUPPORTED_CPUID` list into what one vCPU should see.
///
/// KVM reports what it *can* virtualise, not a coherent CPU: topology fields describe the
/// host, and a few features (PMU, energy-performance bias) would make the guest touch MSRs
/// KVM does not emulate. These fixes follow kvmtool and Firecracker.
///
/// The topology every leaf describes is the one the MADT and MP table list: one package of
/// `vcpuCount` cores, one thread per core, APIC ID = x2APIC ID = vCPU index.
public enum CPUIDPolicy {
    static let leafFeatures: UInt32 = 0x1
    static let leafCacheParameters: UInt32 = 0x4
    static let leafThermalPower: UInt32 = 0x6
    static let leafPerformanceMonitoring: UInt32 = 0xA
    static let leafExtendedTopology: UInt32 = 0xB
    static let leafExtendedTopologyV2: UInt32 = 0x1F
    static let leafAMDAddressSizes: UInt32 = 0x8000_0008
    static let leafAMDTopology: UInt32 = 0x8000_001E

    /// Leaf 1 ECX bit 31: tells the guest it runs on a hypervisor, so it looks for the kvm
    /// leaves at 0x4000_0000 (kvm-clock, no I/O delay) instead of calibrating like bare metal.
    static let hypervisorBit: UInt32 = 1 << 31
    /// Leaf 1 EDX bit 28: the package has more than one logical processor (EBX[23:16] valid).
    static let hyperThreadingBit: UInt32 = 1 << 28
    /// Leaf 6 ECX bit 3: IA32_ENERGY_PERF_BIAS, an MSR KVM does not emulate.
    static let energyPerfBiasBit: UInt32 = 1 << 3

    /// Returns `entries` patched for vCPU `vcpuIndex` (its APIC id) of `vcpuCount`. Counts and
    /// ids that do not fit their 8-bit fields are clamped rather than trapping.
    public static func patch(_ entries: [CPUIDEntry], vcpuIndex: Int, vcpuCount: Int) -> [CPUIDEntry] {
        let apicID = UInt32(clamping: max(0, vcpuIndex))
        let apicID8 = min(apicID, 0xFF)
        let count = UInt32(clamping: max(1, vcpuCount))
        let count8 = min(count, 0xFF)
        let patched = entries.map { original in
            var entry = original
            switch entry.function {
            case leafFeatures:
                entry.ebx = (entry.ebx & 0x0000_FFFF) | (count8 << 16) | (apicID8 << 24)
                entry.ecx |= hypervisorBit
                if vcpuCount > 1 {
                    entry.edx |= hyperThreadingBit
                } else {
                    entry.edx &= ~hyperThreadingBit
                }
            case leafThermalPower:
                entry.ecx &= ~energyPerfBiasBit
            case leafPerformanceMonitoring:
                // No virtual PMU: architectural version 0 tells the guest there is none.
                entry.eax = 0
                entry.ebx = 0
                entry.ecx = 0
                entry.edx = 0
            case leafCacheParameters:
                entry.eax = cacheParameters(entry.eax, coreCount: count)
            case leafAMDAddressSizes:
                // NC (cores - 1) in bits 7:0, ApicIdCoreIdSize in bits 15:12.
                entry.ecx = (entry.ecx & ~0xF0FF) | (min(coreIDBits(count), 0xF) << 12) | (min(count, 0x100) - 1)
            case leafAMDTopology:
                entry.eax = apicID  // extended APIC ID
                entry.ebx = (entry.ebx & ~0xFFFF) | (apicID8 & 0xFF)  // core ID; threads per core - 1 = 0
                entry.ecx &= ~0x7FF  // node 0, one node per package
            default:
                break
            }
            return entry
        }
        return replacingTopologyLeaves(patched, apicID: apicID, coreCount: count)
    }

    /// Bits of the APIC ID that number the cores of a package: ceil(log2(cores)).
    static func coreIDBits(_ coreCount: UInt32) -> UInt32 {
        coreCount <= 1 ? 0 : UInt32(32 - (coreCount - 1).leadingZeroBitCount)
    }

    /// Leaf 4 subleaf EAX: bits 31:26 are the cores per package - 1; bits 25:14 the logical
    /// processors sharing the cache - 1: one (this core) for L1 and L2, all of them for L3.
    /// A subleaf with cache type 0 ends the list and stays as it is.
    static func cacheParameters(_ eax: UInt32, coreCount: UInt32) -> UInt32 {
        guard eax & 0x1F != 0 else { return eax }
        let level = (eax >> 5) & 0x7
        let sharing = level >= 3 ? min(coreCount, 0x1000) - 1 : 0
        return (eax & 0x3FFF) | (sharing << 14) | ((min(coreCount, 64) - 1) << 26)
    }

    /// Leaves 0xB and 0x1F (x2APIC topology), where the host has them: the SMT level (one
    /// thread), the core level (all vCPUs), then the invalid level that ends the list; every
    /// subleaf carries this vCPU's x2APIC ID in EDX. The host's subleaves are replaced, since
    /// it may have more levels (die, module) than this machine.
    static func replacingTopologyLeaves(_ entries: [CPUIDEntry], apicID: UInt32, coreCount: UInt32) -> [CPUIDEntry] {
        var result = entries
        for leaf in [leafExtendedTopology, leafExtendedTopologyV2] {
            guard let first = result.firstIndex(where: { $0.function == leaf }) else { continue }
            result.removeAll { $0.function == leaf }
            let smtLevel: UInt32 = 1, coreLevel: UInt32 = 2
            let subleaves = [
                CPUIDEntry(function: leaf, index: 0, flags: CPUIDEntry.significantIndex, eax: 0, ebx: 1, ecx: smtLevel << 8 | 0, edx: apicID),
                CPUIDEntry(
                    function: leaf, index: 1, flags: CPUIDEntry.significantIndex, eax: coreIDBits(coreCount), ebx: coreCount,
                    ecx: coreLevel << 8 | 1, edx: apicID),
                CPUIDEntry(function: leaf, index: 2, flags: CPUIDEntry.significantIndex, eax: 0, ebx: 0, ecx: 2, edx: apicID),
            ]
            result.insert(contentsOf: subleaves, at: min(first, result.count))
        }
        return result
    }
}
