import Dispatch
import Synchronization
import Testing
import GuestMemory
@testable import Devices

/// Deterministic pseudo-random numbers (SplitMix64), so a failure can be replayed.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: UInt64) -> UInt64 { next() % bound }
}

@Suite struct VirtioFuzzTests {
    /// Two "vCPUs" write garbage to every register, config space and the rings while kicking
    /// the queue. Nothing may crash or hang, and a reset must bring the device back.
    @Test(arguments: [UInt64(1), 2, 3])
    func hostileGuestCannotBreakTheVMM(seed: UInt64) throws {
        let disk = try TemporaryDisk(sectors: 16)
        let (harness, _) = try VirtioHarness.blockHarness(disk: disk)
        try harness.start(features: VirtioFeature.version1 | VirtioFeature.ringEventIndex)
        let bar = harness.bar
        let mmio = harness.mmio
        let memory = harness.memory
        let transport = harness.transport
        let ports = harness.ports
        let slot = harness.slot

        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            var random = SplitMix64(state: seed &* 31 &+ UInt64(worker))
            for _ in 0..<20000 {
                let width = [1, 2, 4, 8][Int(random.below(4))]
                // Aim mostly at the registers that matter rather than the empty parts of the BAR.
                let target: UInt64 = switch random.below(5) {
                case 0, 1: VirtioPCILayout.commonConfiguration + random.below(0x40)
                case 2: VirtioPCILayout.msixTable + random.below(0x20)
                case 3: [VirtioPCILayout.notify, VirtioPCILayout.isr, VirtioPCILayout.deviceConfiguration][Int(random.below(3))] + random.below(8)
                default: random.below(VirtioPCILayout.barSize)
                }
                switch random.below(10) {
                case 0, 1, 2:
                    // Small values too, so status and select registers take meaningful states.
                    mmio.write(bar + target, random.below(2) == 0 ? random.below(16) : random.next(), width: width)
                case 3:
                    _ = mmio.read64(bar + target)
                case 4:
                    // Everything but command and BAR0/1, which would just unmap the device.
                    let register = random.below(2) == 0
                        ? [0, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15][Int(random.below(13))] * 4
                        : 0x40 + Int(random.below(48)) * 4
                    let configWidth = [1, 2, 4][Int(random.below(3))]
                    ports.write(slot: slot, register: register + Int(random.below(UInt64(5 - configWidth))), value: random.next(), width: configWidth)
                case 5, 6, 7:
                    // Scribble over the descriptor table and rings.
                    let address = VirtioHarness.descriptorTable + random.below(0x3000)
                    try? memory.write(UInt16(truncatingIfNeeded: random.next()), at: address)
                default:
                    transport.notifyQueue(Int(random.below(3)))
                }
            }
        }
        transport.drain()
        transport.drain()

        // Undo what the guest did to the PCI header, then a normal driver must work again.
        ports.write(slot: slot, register: 0x10, value: bar & 0xFFFF_FFFF)
        ports.write(slot: slot, register: 0x14, value: bar >> 32)
        ports.write(slot: slot, register: PCIRegister.command, value: UInt64(PCICommand.memorySpace), width: 2)
        harness.setStatus(0)
        #expect(harness.status == 0)
        try memory.fill(0, at: VirtioHarness.descriptorTable, count: 0x3000)
        harness.availIndex = 0
        try harness.start()
        let status = try harness.postRequest(type: BlockRequestType.flush)
        try harness.kick()
        #expect(try harness.statusByte(status) == BlockStatus.ok)
    }

    /// Rounds of a driver posting random (often invalid) requests, sometimes corrupting the
    /// ring, while another thread hammers notifications, the ISR and MSI-X masking. After
    /// each round every request is answered, or the device has declared DEVICE_NEEDS_RESET.
    @Test(arguments: [UInt64(7), 8])
    func randomRequestsAreAnsweredOrTheDeviceAsksForReset(seed: UInt64) throws {
        let disk = try TemporaryDisk(sectors: 16)
        let size = disk.contents().count
        let (harness, _) = try VirtioHarness.blockHarness(disk: disk)
        let transport = harness.transport
        let mmio = harness.mmio
        var random = SplitMix64(state: seed)
        var answered = 0
        var rejected = 0

        for _ in 0..<150 {
            try harness.memory.fill(0, at: VirtioHarness.descriptorTable, count: 0x3000)
            harness.availIndex = 0
            try harness.start(features: VirtioFeature.version1 | (random.below(2) == 0 ? VirtioFeature.ringEventIndex : 0))
            let bar = harness.bar
            let stop = Atomic<Bool>(false)
            let noise = DispatchQueue(label: "noise")
            let done = DispatchSemaphore(value: 0)
            noise.async {
                var noiseRandom = SplitMix64(state: seed ^ 0xABCD)
                while !stop.load(ordering: .relaxed) {
                    switch noiseRandom.below(4) {
                    case 0: transport.notifyQueue(0)
                    case 1: _ = mmio.read64(bar + VirtioPCILayout.isr)
                    case 2: mmio.write(bar + VirtioPCILayout.msixTable + 16 + 12, noiseRandom.below(2), width: 4)
                    default: _ = mmio.read64(bar + VirtioPCILayout.deviceConfiguration)
                    }
                }
                done.signal()
            }
            let requests = Int(random.below(4)) + 1
            for index in 0..<requests {
                let type = [BlockRequestType.read, BlockRequestType.write, BlockRequestType.flush, BlockRequestType.getID, UInt32(truncatingIfNeeded: random.next())][Int(random.below(5))]
                let sector = random.below(3) == 0 ? random.next() : random.below(20)
                let length = UInt32([0, 1, 20, 512, 1024, 4096, 8192][Int(random.below(7))])
                let address = random.below(8) == 0 ? random.below(0x10_0000) : 0x40000 + UInt64(index) * 0x4000
                let data = length == 0 ? [] : [DataBuffer(address: address, length: length, writable: random.below(2) == 0)]
                try harness.postRequest(
                    type: type, sector: sector, data: data, firstDescriptor: UInt16(index * 4),
                    headerWritable: random.below(12) == 0, statusWritable: random.below(12) != 0)
            }
            if random.below(6) == 0 {
                // Corrupt one descriptor field or the avail index.
                let field = VirtioHarness.descriptorTable + random.below(UInt64(requests) * 64)
                try harness.memory.write(UInt16(truncatingIfNeeded: random.next()), at: random.below(4) == 0 ? VirtioHarness.availRing + 2 : field)
            }
            try harness.kick()
            stop.store(true, ordering: .relaxed)
            done.wait()
            transport.drain()

            if harness.status & VirtioDeviceStatus.deviceNeedsReset != 0 {
                rejected += 1
            } else {
                #expect(harness.usedIndex == UInt16(requests))
                answered += 1
            }
        }
        #expect(answered > 0 && rejected > 0)
        #expect(disk.contents().count == size)
    }
}
