#if canImport(Glibc)
import Glibc
#endif
import Devices
import Foundation
import GuestMemory
import KVM
import Logging
import SwiftletCore
import Testing
@testable import Machine

/// A guest toggling a virtio device's memory decoding (or moving its BAR) in a loop: each
/// change moves the queue ioeventfds synchronously on the writing vCPU, so no work piles up
/// and no descriptor leaks, however long the storm.
@Suite(.enabled(if: access("/dev/kvm", R_OK | W_OK) == 0, "needs read-write access to /dev/kvm"))
struct BARStormTests {
    /// Open eventfds, the descriptors a BAR move opens and closes (one per queue notifier).
    /// Only those: the other suites run in parallel in this process and open files and
    /// sockets of their own meanwhile, which once put 10 more descriptors in a count of all.
    static func openDescriptors() -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return -1 }
        return names.filter { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) == "anon_inode:[eventfd]" }.count
    }

    static func threads() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("Threads:") } ?? ""
        return Int(line.split(separator: "\t").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "") ?? -1
    }

    @Test func commandRegisterStormLeavesNoWorkOrDescriptorsBehind() throws {
        let path = NSTemporaryDirectory() + "swiftlet-barstorm-\(getpid()).img"
        _ = FileManager.default.createFile(atPath: path, contents: Data(count: 1 << 20))
        defer { unlink(path) }
        let vm = try KVMSystem().createVM()
        let memory = try GuestMemory(layout: [AddressRange(start: 0, length: 1 << 20)!])
        let pci = try PCISubsystem(
            vm: vm, memory: memory, portBus: Bus(), mmioBus: Bus(),
            virtioDevices: [("disk", try VirtioBlock(path: path, readOnly: false, id: "disk"))], logger: Logger(label: "test"))
        let transport = try #require(pci.virtioFunctions.first?.transport)
        let slot = try #require((0..<PCIRoot.slotCount).first { pci.root.device(atSlot: $0) === transport })
        let commandRegister = UInt32(0x8000_0000) | UInt32(slot) << 11 | 0x04
        func writeConfig(_ offset: UInt64, _ value: UInt32) {
            withUnsafeBytes(of: value.littleEndian) { pci.configIO.write(offset: offset, data: $0) }
        }
        let descriptorsBefore = Self.openDescriptors()
        let start = Date()
        for round in 0..<1_000 {
            writeConfig(0, commandRegister)
            writeConfig(4, round % 2 == 0 ? 0 : 0x02)
        }
        writeConfig(0, commandRegister)
        writeConfig(4, 0x02)
        #expect(Date().timeIntervalSince(start) < 60)
        #expect(pci.root.mappedAddress(slot: slot, bar: VirtioPCILayout.bar) != nil)
        // Cancelled Dispatch sources close their descriptors asynchronously; on a loaded machine
        // (the whole suite beside a testbed run, once) that took longer than 5 s.
        let deadline = Date().addingTimeInterval(30)
        while Self.openDescriptors() > descriptorsBefore + 2 && Date() < deadline { usleep(10_000) }
        #expect(Self.openDescriptors() <= descriptorsBefore + 2, "descriptors: \(descriptorsBefore) before, \(Self.openDescriptors()) after")
        #expect(Self.threads() < 64, "Dispatch threads piled up: \(Self.threads())")
    }
}
