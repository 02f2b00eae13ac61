import CKVM
import Foundation
import SwiftletCore
import Testing
@testable import KVM

@Suite(.enabled(if: kvmAvailable, "needs read-write access to /dev/kvm"))
struct VirtualMachineTests {
    let system: KVMSystem
    let vm: VirtualMachine

    init() throws {
        system = try KVMSystem()
        vm = try system.createVM()
    }

    /// One page of anonymous memory, mapped as guest RAM at `guestAddress` in `slot`.
    private func mapPage(slot: UInt32, at guestAddress: UInt64) throws -> UnsafeMutableRawPointer {
        let page = try #require(mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        try #require(page != MAP_FAILED)
        try vm.setUserMemoryRegion(
            slot: slot, guestRange: AddressRange(start: guestAddress, length: 4096)!, hostAddress: UInt(bitPattern: page))
        return page
    }

    @Test func memorySlotsAcceptAlignedRegionsAndRefuseOverlaps() throws {
        let first = try mapPage(slot: 0, at: 0x10000)
        defer { munmap(first, 4096) }
        let second = try #require(mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        defer { munmap(second, 4096) }
        // Another slot over the same guest page is refused with EEXIST.
        #expect(throws: KVMError.systemCall(operation: "KVM_SET_USER_MEMORY_REGION(slot 1)", errno: EEXIST)) {
            try vm.setUserMemoryRegion(slot: 1, guestRange: AddressRange(start: 0x10000, length: 4096)!, hostAddress: UInt(bitPattern: second))
        }
        // A guest address that is not page aligned is refused with EINVAL.
        #expect(throws: KVMError.systemCall(operation: "KVM_SET_USER_MEMORY_REGION(slot 2)", errno: EINVAL)) {
            try vm.setUserMemoryRegion(slot: 2, guestRange: AddressRange(start: 0x20010, length: 4096)!, hostAddress: UInt(bitPattern: second))
        }
    }

    @Test func createsVCPUsWithTheirRunMapping() throws {
        try vm.createIRQChip()
        let vcpu = try vm.createVCPU(id: 0)
        #expect(vcpu.id == 0)
        #expect(vcpu.mmapSize == (try system.vcpuMmapSize()))
        // KVM refuses a second vCPU with the same id.
        #expect(throws: KVMError.systemCall(operation: "KVM_CREATE_VCPU(0)", errno: EEXIST)) { try vm.createVCPU(id: 0) }
    }

    @Test func registersRoundTrip() throws {
        let vcpu = try vm.createVCPU(id: 0)
        var regs = try vcpu.registers()
        regs.rip = 0x10_0000
        regs.rsp = 0x8FF0
        regs.rsi = 0x7000
        regs.rflags = 0x2
        try vcpu.setRegisters(regs)
        let read = try vcpu.registers()
        #expect(read.rip == 0x10_0000 && read.rsp == 0x8FF0 && read.rsi == 0x7000 && read.rflags == 0x2)

        var sregs = try vcpu.specialRegisters()
        sregs.cr3 = 0x9000
        sregs.gdt.base = 0x500
        sregs.gdt.limit = 31
        try vcpu.setSpecialRegisters(sregs)
        let readS = try vcpu.specialRegisters()
        #expect(readS.cr3 == 0x9000 && readS.gdt.base == 0x500 && readS.gdt.limit == 31)
    }

    @Test func msrsRoundTripAndAnUnknownOneIsRefused() throws {
        let vcpu = try vm.createVCPU(id: 0)
        try vcpu.setCPUID(try system.supportedCPUID())
        let sysenterEIP: UInt32 = 0x176
        try vcpu.setMSRs([(sysenterEIP, 0xFFFF_8000_1234_0000)])
        let read = try vcpu.msrs([sysenterEIP])
        #expect(read.count == 1 && read.first?.index == sysenterEIP && read.first?.value == 0xFFFF_8000_1234_0000)
        // 0x1FF is no MSR at all: KVM stops at it and the wrapper says which.
        do {
            try vcpu.setMSRs([(sysenterEIP, 0), (0x1FF, 1)])
            Issue.record("an unknown MSR was accepted")
        } catch {
            #expect(error.description.contains("MSR 0x1ff refused"), "\(error)")
        }
    }

    @Test func cpuidRoundTrips() throws {
        let vcpu = try vm.createVCPU(id: 0)
        let supported = try system.supportedCPUID()
        try vcpu.setCPUID(supported)
        let read = try vcpu.cpuid()
        #expect(read.count == supported.count)
        let leaf0 = try #require(read.first { $0.function == 0 })
        let supportedLeaf0 = try #require(supported.first { $0.function == 0 })
        #expect(leaf0.eax == supportedLeaf0.eax && leaf0.ebx == supportedLeaf0.ebx)
    }

    @Test func aHaltingGuestExitsWithHLT() throws {
        // Real mode at 0x1000: a single HLT. Without an in-kernel LAPIC, HLT exits to userspace.
        let page = try mapPage(slot: 0, at: 0x1000)
        defer { munmap(page, 4096) }
        page.storeBytes(of: 0xF4, as: UInt8.self)
        let vcpu = try vm.createVCPU(id: 0)
        var sregs = try vcpu.specialRegisters()
        sregs.cs.base = 0
        sregs.cs.selector = 0
        try vcpu.setSpecialRegisters(sregs)
        var regs = try vcpu.registers()
        regs.rip = 0x1000
        regs.rflags = 0x2
        try vcpu.setRegisters(regs)
        var outcome = try vcpu.runOnce()
        while outcome == .interrupted { outcome = try vcpu.runOnce() }
        guard case .halt = vcpu.exit else { Issue.record("exit was \(vcpu.exit)"); return }
    }
}
