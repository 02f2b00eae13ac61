/// Turns the host's `KVM_GET_SUPPORTED_CPUID` list into what one vCPU should see.
///
/// KVM reports what it *can* virtualise, not a coherent CPU: topology fields describe the
/// host, and a few features (PMU, energy-performance bias) would make the guest touch MSRs
/// KVM does not emulate. These fixes follow kvmtool and Firecracker.
public enum CPUIDPolicy {
    static let leafFeatures: UInt32 = 0x1
    static let leafThermalPower: UInt32 = 0x6
    static let leafPerformanceMonitoring: UInt32 = 0xA
    static let leafExtendedTopology: UInt32 = 0xB
    static let leafExtendedTopologyV2: UInt32 = 0x1F

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
        let count8 = UInt32(clamping: min(max(1, vcpuCount), 0xFF))
        return entries.map { original in
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
            case leafExtendedTopology, leafExtendedTopologyV2:
                entry.edx = apicID
            default:
                break
            }
            return entry
        }
    }
}
