import SwiftletCore
import Testing
@testable import Devices

@Suite struct PCIConfigTests {
    let mmio = Bus()
    let root: PCIRoot
    let ports: ConfigPorts

    init() {
        root = PCIRoot(mmioBus: mmio, mmioWindow: testMMIOWindow)
        ports = ConfigPorts(io: PCIConfigIO(root: root))
    }

    @Test func addressLatchReadsBackAtAnyWidth() {
        // Linux's pci_check_type1: outb(0x01, 0xCFB), then a dword write/readback of 0x80000000.
        ports.writePort(0, 0x1234_5678, width: 4)
        ports.writePort(3, 0x01, width: 1)
        #expect(ports.readPort(0, width: 4) == 0x0134_5678)
        ports.writePort(0, 0x8000_0000, width: 4)
        #expect(ports.readPort(0, width: 4) == 0x8000_0000)
        ports.writePort(2, 0xABCD, width: 2)
        #expect(ports.readPort(2, width: 2) == 0xABCD)
        #expect(ports.readPort(0, width: 4) == 0xABCD_0000)
        // Each byte and word replaces its own bytes only.
        ports.writePort(1, 0x5A, width: 1)
        ports.writePort(0, 0x11, width: 1)
        #expect(ports.readPort(0, width: 4) == 0xABCD_5A11)
        ports.writePort(0, 0xFFFF, width: 2)
        #expect(ports.readPort(0, width: 4) == 0xABCD_FFFF)
        #expect(ports.readPort(1, width: 1) == 0xFF && ports.readPort(3, width: 1) == 0xAB)
    }

    @Test func hostBridgeIdentity() {
        #expect(ports.read(slot: 0, register: 0) == 0x0D57_8086)
        #expect(ports.read(slot: 0, register: 0x08) >> 16 == 0x0600)  // class 06, subclass 00
        #expect(ports.read(slot: 0, register: 0x0A, width: 2) == 0x0600)
        #expect(ports.read(slot: 0, register: 0x0E, width: 1) == 0)  // type-0 header
    }

    @Test func absentDevicesAndOtherBusesOrFunctionsReadAllOnes() throws {
        #expect(ports.read(slot: 5, register: 0) == 0xFFFF_FFFF)
        #expect(ports.read(slot: 0, register: 0, bus: 1) == 0xFFFF_FFFF)
        #expect(ports.read(slot: 0, register: 0, function: 1) == 0xFFFF_FFFF)
        ports.writePort(0, 0x0000_0000, width: 4)  // enable bit clear
        #expect(ports.readPort(4, width: 4) == 0xFFFF_FFFF)
    }

    @Test func byteAndWordAccessesHitTheRightBytes() {
        #expect(ports.read(slot: 0, register: 0, width: 2) == 0x8086)
        #expect(ports.read(slot: 0, register: 2, width: 2) == 0x0D57)
        #expect(ports.read(slot: 0, register: 1, width: 1) == 0x80)
        #expect(ports.read(slot: 0, register: 3, width: 1) == 0x0D)
    }

    @Test func accessesCrossingADwordAreRejected() {
        ports.writePort(0, UInt64(ConfigPorts.address(slot: 0, register: 0)), width: 4)
        #expect(ports.readPort(6, width: 4) == 0xFFFF_FFFF)
        #expect(ports.readPort(7, width: 2) == 0xFFFF)
        // A crossing write must not change the interrupt line.
        ports.writePort(0, UInt64(ConfigPorts.address(slot: 0, register: 0x3C)), width: 4)
        ports.writePort(7, 0x5555, width: 2)
        #expect(ports.read(slot: 0, register: 0x3C, width: 1) == 0)
    }

    @Test func onlyWritableBitsChange() throws {
        let device = try TestPCIDevice()
        let slot = try root.attach(device)
        ports.write(slot: slot, register: 0, value: 0xFFFF_FFFF)
        #expect(ports.read(slot: slot, register: 0) == 0x5678_1234)
        ports.write(slot: slot, register: 0x08, value: 0)
        #expect(ports.read(slot: slot, register: 0x08, width: 1) == 2)
        ports.write(slot: slot, register: 0x3C, value: 0x0B, width: 1)
        #expect(ports.read(slot: slot, register: 0x3C, width: 1) == 0x0B)
        ports.write(slot: slot, register: PCIRegister.command, value: 0xFFFF, width: 2)
        #expect(ports.read(slot: slot, register: PCIRegister.command, width: 2) == UInt64(PCICommand.writable))
        // The expansion ROM BAR is absent: reads 0 even after sizing.
        ports.write(slot: slot, register: 0x30, value: 0xFFFF_FFFF)
        #expect(ports.read(slot: slot, register: 0x30) == 0)
    }

    @Test func barSizingLikeLinux() throws {
        let device = try TestPCIDevice()
        let slot = try root.attach(device)
        let bar0 = ports.read(slot: slot, register: 0x10)
        #expect(bar0 == 0xC000_0000)
        let bar2 = ports.read(slot: slot, register: 0x18)
        let bar3 = ports.read(slot: slot, register: 0x1C)
        #expect(bar2 & 0xF == 0b1100)  // 64-bit, prefetchable
        #expect((bar3 << 32 | bar2) & ~0xF == 0xC000_4000)

        // 32-bit BAR: all ones reads ~(size-1) with type bits.
        ports.write(slot: slot, register: PCIRegister.command, value: 0, width: 2)
        ports.write(slot: slot, register: 0x10, value: 0xFFFF_FFFF)
        #expect(ports.read(slot: slot, register: 0x10) == 0xFFFF_F000)
        ports.write(slot: slot, register: 0x10, value: bar0)
        #expect(ports.read(slot: slot, register: 0x10) == bar0)

        // 64-bit BAR: both halves sized separately.
        ports.write(slot: slot, register: 0x18, value: 0xFFFF_FFFF)
        ports.write(slot: slot, register: 0x1C, value: 0xFFFF_FFFF)
        #expect(ports.read(slot: slot, register: 0x18) == 0xFFFF_C00C)
        #expect(ports.read(slot: slot, register: 0x1C) == 0xFFFF_FFFF)
        ports.write(slot: slot, register: 0x18, value: bar2)
        ports.write(slot: slot, register: 0x1C, value: bar3)
        #expect(ports.read(slot: slot, register: 0x18) == bar2)

        // Unused BARs stay zero whatever is written.
        ports.write(slot: slot, register: 0x14, value: 0xFFFF_FFFF)
        #expect(ports.read(slot: slot, register: 0x14) == 0)
    }

    @Test func barsAreMappedAndFollowTheGuest() throws {
        let device = try TestPCIDevice()
        let slot = try root.attach(device)
        let events = MappingLog()
        let ports = ConfigPorts(io: PCIConfigIO(root: root, mappingSink: events))
        #expect(mmio.read64(0xC000_0010) == 0x10)
        #expect(mmio.read64(0xC000_4008) == 2 << 32 | 8)

        // Clearing MEM stops decoding; sizing patterns are never mapped.
        ports.write(slot: slot, register: PCIRegister.command, value: 0, width: 2)
        #expect(mmio.read32(0xC000_0010) == 0xFFFF_FFFF)
        ports.write(slot: slot, register: 0x10, value: 0xFFFF_FFFF)
        ports.write(slot: slot, register: 0x10, value: 0xD000_0000)
        ports.write(slot: slot, register: PCIRegister.command, value: UInt64(PCICommand.memorySpace), width: 2)
        #expect(mmio.read64(0xD000_0010) == 0x10)
        #expect(mmio.read32(0xC000_0010) == 0xFFFF_FFFF)
        #expect(root.mappedAddress(slot: slot, bar: 0) == 0xD000_0000)

        // Moving with MEM set works too.
        ports.write(slot: slot, register: 0x10, value: 0xD010_0000)
        #expect(mmio.read64(0xD010_0000) == 0)
        #expect(mmio.read32(0xD000_0010) == 0xFFFF_FFFF)
        mmio.write(0xD010_0020, 0xBEEF, width: 2)
        #expect(device.lastWrite.withLock { $0 }?.offset == 0x20)
        #expect(events.entries.filter { $0.bar == 0 }.map(\.base) == [nil, 0xD000_0000, 0xD010_0000])
        #expect(events.entries.allSatisfy { $0.slot == slot })
    }

    @Test func aConfigWriteReturnsTheBARMovesItCaused() throws {
        let device = try TestPCIDevice()
        let slot = try root.attach(device)
        func write(_ register: Int, _ value: UInt32) -> [PCIRoot.BARMapping] {
            [UInt8].littleEndian(value).withUnsafeBytes { root.writeConfig(slot: slot, offset: register, data: $0) }
        }
        // The interrupt line moves nothing.
        #expect(write(0x3C, 5).isEmpty)
        // A move of BAR 0 within the window: one change, already applied to the bus.
        #expect(write(0x10, 0xD000_0000) == [PCIRoot.BARMapping(slot: slot, bar: 0, base: 0xD000_0000)])
        #expect(mmio.read64(0xD000_0008) == 8)
        // Writing the same address again moves nothing.
        #expect(write(0x10, 0xD000_0000).isEmpty)
        // Clearing MEM unmaps both BARs.
        #expect(write(PCIRegister.command, 0) == [
            PCIRoot.BARMapping(slot: slot, bar: 0, base: nil), PCIRoot.BARMapping(slot: slot, bar: 2, base: nil),
        ])
        // An absent slot moves nothing and does not trap.
        #expect([UInt8](repeating: 0xFF, count: 4).withUnsafeBytes { root.writeConfig(slot: 31, offset: 0x10, data: $0) }.isEmpty)
    }

    @Test func configIOHandsTheMovesToItsSinkBeforeReturning() throws {
        let device = try TestPCIDevice()
        let slot = try root.attach(device)
        let sink = MappingLog()
        let ports = ConfigPorts(io: PCIConfigIO(root: root, mappingSink: sink))
        ports.write(slot: slot, register: 0x3C, value: 7, width: 1)
        #expect(sink.entries.isEmpty)  // nothing moved, so the sink is not bothered
        ports.write(slot: slot, register: 0x10, value: 0xD020_0000)
        #expect(sink.entries == [PCIRoot.BARMapping(slot: slot, bar: 0, base: 0xD020_0000)])
    }

    @Test func garbageAndOverlappingPlacementsAreIgnoredSafely() throws {
        let first = try TestPCIDevice()
        let second = try TestPCIDevice()
        let firstSlot = try root.attach(first)
        let secondSlot = try root.attach(second)
        let secondBase = try #require(root.mappedAddress(slot: secondSlot, bar: 0))

        // Overlap: the first device's BAR0 placed on the second's stays unmapped.
        ports.write(slot: firstSlot, register: 0x10, value: secondBase)
        #expect(root.mappedAddress(slot: firstSlot, bar: 0) == nil)
        #expect(mmio.read64(secondBase + 8) == 8)  // still the second device
        // Outside the window (over the IOAPIC) and a half-written 64-bit BAR above 4 GiB.
        ports.write(slot: firstSlot, register: 0x10, value: 0xFEC0_0000)
        #expect(root.mappedAddress(slot: firstSlot, bar: 0) == nil)
        ports.write(slot: firstSlot, register: 0x1C, value: 0x1)
        #expect(root.mappedAddress(slot: firstSlot, bar: 2) == nil)
        // Sane again: mapped again.
        ports.write(slot: firstSlot, register: 0x10, value: 0xE000_0000)
        ports.write(slot: firstSlot, register: 0x1C, value: 0)
        #expect(root.mappedAddress(slot: firstSlot, bar: 0) == 0xE000_0000)
        #expect(root.mappedAddress(slot: firstSlot, bar: 2) != nil)
    }

    @Test func windowExhaustionIsAnError() throws {
        let tiny = PCIRoot(mmioBus: Bus(), mmioWindow: AddressRange(0xC000_0000..<0xC000_2000)!)
        #expect(throws: PCIError.mmioWindowExhausted(needed: 0x4000)) { try tiny.attach(try TestPCIDevice()) }
    }

    @Test func capabilityWalk() throws {
        let device = try TestPCIDevice()
        try device.configuration.addCapability(id: 0x09, body: [4, 1, 2])
        try device.configuration.addCapability(id: 0x11, body: Array(repeating: 0, count: 10))
        let slot = try root.attach(device)
        let capabilities = ports.capabilities(slot: slot)
        #expect(capabilities.map(\.id) == [0x09, 0x11])
        #expect(capabilities.map(\.offset) == [0x40, 0x48])
        // The chain itself is read-only.
        ports.write(slot: slot, register: 0x41, value: 0x80, width: 1)
        #expect(ports.capabilities(slot: slot).map(\.id) == [0x09, 0x11])
    }

    @Test func configSpaceSnapshotRestoresBARsAndRemaps() throws {
        let device = try TestPCIDevice()
        let slot = try root.attach(device)
        ports.write(slot: slot, register: 0x10, value: 0xD000_0000)
        ports.write(slot: slot, register: 0x3C, value: 9, width: 1)
        let saved = device.configuration.saveState()

        let otherBus = Bus()
        let otherRoot = PCIRoot(mmioBus: otherBus, mmioWindow: testMMIOWindow)
        let copy = try TestPCIDevice()
        let copySlot = try otherRoot.attach(copy)
        try copy.configuration.restoreState(saved)
        #expect(copy.configuration.saveState() == saved)
        // The bus follows only when the root is asked to, and says what moved.
        #expect(otherRoot.mappedAddress(slot: copySlot, bar: 0) == 0xC000_0000)
        #expect(otherRoot.refreshMappings() == [PCIRoot.BARMapping(slot: copySlot, bar: 0, base: 0xD000_0000)])
        #expect(otherRoot.mappedAddress(slot: copySlot, bar: 0) == 0xD000_0000)
        #expect(otherRoot.refreshMappings().isEmpty)
        #expect(otherBus.read64(0xD000_0008) == 8)

        ports.write(slot: 0, register: 0x0C, value: 0x10, width: 1)
        let rootState = root.saveState()
        #expect(try otherRoot.restoreState(rootState).isEmpty)
        #expect(otherRoot.saveState() == rootState)

        var doctored = saved
        doctored.bytes[0] = 0x99  // vendor ID is read-only
        #expect(throws: PCIError.self) { try copy.configuration.restoreState(doctored) }
        #expect(throws: PCIError.self) { try copy.configuration.restoreState(.init(bytes: [1, 2], barRegisters: [])) }
    }
}
