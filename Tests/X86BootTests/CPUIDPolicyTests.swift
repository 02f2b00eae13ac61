import Foundation
import Testing
@testable import X86Boot

@Suite struct CPUIDPolicyTests {
    /// Roughly what KVM_GET_SUPPORTED_CPUID reports, with host topology left in place.
    static let supported: [CPUIDEntry] = [
        CPUIDEntry(function: 0, eax: 0x1F, ebx: 0x756E_6547, ecx: 0x6C65_746E, edx: 0x4965_6E69),
        CPUIDEntry(function: 1, eax: 0x806C1, ebx: 0x1F10_0800, ecx: 0x77FA_FBFF, edx: 0x0F8B_FBFF & ~(1 << 28)),
        CPUIDEntry(function: 6, eax: 0x4, ecx: 0x9),
        CPUIDEntry(function: 0xA, eax: 0x0830_0805, ebx: 0x7, ecx: 0, edx: 0x603),
        CPUIDEntry(function: 0xB, index: 0, flags: 1, eax: 1, ebx: 2, ecx: 0x100, edx: 7),
        CPUIDEntry(function: 0xB, index: 1, flags: 1, eax: 4, ebx: 8, ecx: 0x201, edx: 7),
        CPUIDEntry(function: 0x4000_0000, eax: 0x4000_0001, ebx: 0x4B4D_564B, ecx: 0x564B_4D56, edx: 0x4D),
        CPUIDEntry(function: 0x4000_0001, eax: 0x0100_07FB),
        CPUIDEntry(function: 0x8000_0001, ecx: 0x121, edx: 0x2C10_0800),
    ]

    private func leaf(_ entries: [CPUIDEntry], _ function: UInt32, _ index: UInt32 = 0) throws -> CPUIDEntry {
        try #require(entries.first { $0.function == function && $0.index == index })
    }

    @Test func leafOneCarriesApicIdCountHypervisorAndHTT() throws {
        let patched = CPUIDPolicy.patch(Self.supported, vcpuIndex: 2, vcpuCount: 4)
        let features = try leaf(patched, 1)
        #expect(features.ebx >> 24 == 2)
        #expect((features.ebx >> 16) & 0xFF == 4)
        #expect(features.ebx & 0xFFFF == 0x0800)  // brand index and CLFLUSH size untouched
        #expect(features.ecx == 0x77FA_FBFF | 0x8000_0000)
        #expect(features.edx & (1 << 28) != 0)
        #expect(features.eax == 0x806C1)
    }

    @Test func singleVCPUHasNoHTT() throws {
        var hostWithHTT = Self.supported
        hostWithHTT[1].edx |= 1 << 28
        let features = try leaf(CPUIDPolicy.patch(hostWithHTT, vcpuIndex: 0, vcpuCount: 1), 1)
        #expect(features.edx & (1 << 28) == 0)
        #expect(features.ebx >> 16 == 0x0001)
    }

    @Test func eachVCPUGetsItsOwnApicId() throws {
        for index in 0..<3 {
            let patched = CPUIDPolicy.patch(Self.supported, vcpuIndex: index, vcpuCount: 3)
            #expect(try leaf(patched, 1).ebx >> 24 == UInt32(index))
            #expect(try leaf(patched, 0xB, 0).edx == UInt32(index))
            #expect(try leaf(patched, 0xB, 1).edx == UInt32(index))
            #expect(try leaf(patched, 0xB, 1).ebx == 3)
        }
    }

    /// SDM vol. 2A, CPUID leaf 0BH: per subleaf, EAX[4:0] = bits to shift the x2APIC ID right
    /// to get the next level's ID, EBX[15:0] = logical processors at this level, ECX[15:8] =
    /// level type (1 SMT, 2 core, 0 invalid), ECX[7:0] = the subleaf, EDX = x2APIC ID.
    @Test func topologyLeavesDescribeOnePackageOfSingleThreadCores() throws {
        var host = Self.supported
        host.append(CPUIDEntry(function: 0xB, index: 2, flags: 1, eax: 6, ebx: 64, ecx: 0x502, edx: 7))  // a die level
        host.append(CPUIDEntry(function: 0x1F, index: 0, flags: 1, eax: 1, ebx: 2, ecx: 0x100, edx: 7))
        let patched = CPUIDPolicy.patch(host, vcpuIndex: 5, vcpuCount: 6)
        for function: UInt32 in [0xB, 0x1F] {
            let subleaves = patched.filter { $0.function == function }
            #expect(subleaves.count == 3)
            #expect(try leaf(patched, function, 0) == CPUIDEntry(function: function, index: 0, flags: 1, eax: 0, ebx: 1, ecx: 0x100, edx: 5))
            #expect(try leaf(patched, function, 1) == CPUIDEntry(function: function, index: 1, flags: 1, eax: 3, ebx: 6, ecx: 0x201, edx: 5))
            #expect(try leaf(patched, function, 2) == CPUIDEntry(function: function, index: 2, flags: 1, eax: 0, ebx: 0, ecx: 0x002, edx: 5))
        }
        let single = CPUIDPolicy.patch(host, vcpuIndex: 0, vcpuCount: 1)
        #expect(try leaf(single, 0xB, 1).eax == 0)
        #expect(try leaf(single, 0xB, 1).ebx == 1)
        #expect(!CPUIDPolicy.patch(Self.supported.filter { $0.function != 0xB }, vcpuIndex: 0, vcpuCount: 2).contains { $0.function == 0xB })
    }

    /// SDM leaf 04H: EAX[31:26] = cores per package - 1, EAX[25:14] = logical processors
    /// sharing this cache - 1, EAX[7:5] = cache level, EAX[4:0] = type (0 = no more caches).
    @Test func cacheLeafCountsTheCoresOfThePackage() throws {
        let l1d: UInt32 = 0x1C00_4121, l3: UInt32 = 0x1C03_C163, end: UInt32 = 0
        let host = [l1d, l3, end].enumerated().map { CPUIDEntry(function: 4, index: UInt32($0.offset), flags: 1, eax: $0.element) }
        let patched = CPUIDPolicy.patch(host, vcpuIndex: 1, vcpuCount: 4)
        #expect(try leaf(patched, 4, 0).eax == 0x0C00_0121)  // 3 << 26, shared by 1
        #expect(try leaf(patched, 4, 1).eax == 0x0C00_C163)  // 3 << 26, shared by 4 (3 << 14)
        #expect(try leaf(patched, 4, 2).eax == 0)
    }

    /// AMD APM vol. 3: 8000_0008h ECX[7:0] = NC (cores - 1), ECX[15:12] = ApicIdCoreIdSize;
    /// 8000_001Eh EAX = extended APIC ID, EBX[7:0] = core ID, EBX[15:8] = threads per core - 1.
    @Test func amdTopologyLeavesAgree() throws {
        let host = [
            CPUIDEntry(function: 0x8000_0008, eax: 0x3030, ecx: 0x0000_7007),
            CPUIDEntry(function: 0x8000_001E, eax: 9, ebx: 0x0103, ecx: 0x0102),
        ]
        let patched = CPUIDPolicy.patch(host, vcpuIndex: 3, vcpuCount: 4)
        #expect(try leaf(patched, 0x8000_0008).ecx == 0x0000_2003)
        #expect(try leaf(patched, 0x8000_0008).eax == 0x3030)
        let topology = try leaf(patched, 0x8000_001E)
        #expect(topology.eax == 3 && topology.ebx == 0x0003 && topology.ecx == 0)
    }

    @Test func pmuAndEnergyBiasAreHidden() throws {
        let patched = CPUIDPolicy.patch(Self.supported, vcpuIndex: 0, vcpuCount: 1)
        #expect(try leaf(patched, 6).ecx == 0x1)
        #expect(try leaf(patched, 6).eax == 0x4)
        let pmu = try leaf(patched, 0xA)
        #expect(pmu.eax == 0 && pmu.ebx == 0 && pmu.ecx == 0 && pmu.edx == 0)
    }

    @Test func otherLeavesAreKeptAsTheyAre() {
        let patched = CPUIDPolicy.patch(Self.supported, vcpuIndex: 1, vcpuCount: 2)
        let untouched: (CPUIDEntry) -> Bool = { ![1, 6, 0xA, 0xB].contains($0.function) }
        #expect(Self.supported.filter(untouched) == patched.filter(untouched))
    }

    @Test func outOfRangeCountsAreClampedNotTrapped() throws {
        let patched = CPUIDPolicy.patch(Self.supported, vcpuIndex: 300, vcpuCount: 1000)
        let features = try leaf(patched, 1)
        #expect(features.ebx >> 24 == 0xFF && (features.ebx >> 16) & 0xFF == 0xFF)
        #expect(try leaf(patched, 0xB).edx == 300)
        let negative = CPUIDPolicy.patch(Self.supported, vcpuIndex: -1, vcpuCount: -5)
        #expect(try leaf(negative, 1).ebx >> 16 == 0x0001)
    }

    @Test func entriesRoundTripThroughCodable() throws {
        let data = try JSONEncoder().encode(Self.supported)
        #expect(try JSONDecoder().decode([CPUIDEntry].self, from: data) == Self.supported)
    }
}
