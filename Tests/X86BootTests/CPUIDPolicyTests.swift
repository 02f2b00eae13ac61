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
            #expect(try leaf(patched, 0xB, 1).ebx == 8)
        }
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
        #expect(patched.count == Self.supported.count)
        for (before, after) in zip(Self.supported, patched) where ![1, 6, 0xA, 0xB].contains(before.function) {
            #expect(before == after)
        }
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
