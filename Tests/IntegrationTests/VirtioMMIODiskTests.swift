import Foundation
import Testing

/// The tiny guest's block driver over virtio-mmio (`run --transport mmio`): it finds the device
/// only through the `virtio_mmio.device=` word Swiftlet appends to its command line.
@Suite(.serialized) struct VirtioMMIODiskTests {
    @Test func guestFindsTheDiskFromItsCommandLineAndWritesThePattern() throws {
        let disk = try DiskTests.makeDisk("mmio-blk")
        defer { try? FileManager.default.removeItem(at: disk) }
        let result = try SwiftletProcess.run([
            "run", "--transport", "mmio", "--kernel", try TestGuest.path(), "--cmdline", "test=blk", "--disk", "\(disk.path),id=mmio_test",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines.contains("blk: ok"), "\(result.stdout)")
        #expect(result.lines.contains("blk: id mmio_test"))
        #expect(result.lines.contains("blk: capacity 16384 sectors, flush yes"), "\(result.stdout)")
        let bytes = try [UInt8](Data(contentsOf: disk))
        let pattern = bytes[(2048 * 512)..<(2048 * 512 + 4096)]
        #expect(pattern.enumerated().allSatisfy { $0.element == UInt8(truncatingIfNeeded: $0.offset * 7 + 0x5A) })
        #expect(bytes[0..<(2048 * 512)].allSatisfy { $0 == 0 }, "nothing else was written")
    }

    @Test func hostileChainsOverMMIOAreRejectedAndTheDeviceRecovers() throws {
        let disk = try DiskTests.makeDisk("mmio-evil")
        defer { try? FileManager.default.removeItem(at: disk) }
        let result = try SwiftletProcess.run(["run", "--transport", "mmio", "--kernel", try TestGuest.path(), "--cmdline", "test=blk-evil", "--disk", disk.path])
        #expect(result.status == 0, "\(result.stderr)")
        for attack in ["loop", "outside-ram", "wrapped-length"] {
            #expect(result.lines.contains { $0.hasPrefix("blk-evil: \(attack) rejected") }, "\(result.stdout)")
        }
        #expect(result.lines.contains("blk-evil: ok"), "\(result.stdout)")
        #expect(try Data(contentsOf: disk).allSatisfy { $0 == 0 }, "no attack wrote to the disk")
    }

    @Test func withoutTheMMIOTransportTheWordIsAbsentAndPCIIsUsed() throws {
        // The same guest and disk on the default transport: it must take the PCI path, which
        // shows the mmio run above did not succeed through PCI.
        let disk = try DiskTests.makeDisk("mmio-pci")
        defer { try? FileManager.default.removeItem(at: disk) }
        let pci = try SwiftletProcess.run(["run", "--kernel", try TestGuest.path(), "--cmdline", "test=blk", "--disk", disk.path])
        #expect(pci.lines.contains("blk: ok"), "\(pci.stdout)")
        // A virtio_mmio.device= word pointing where no device is makes the mmio path fail.
        let wrong = try SwiftletProcess.run([
            "run", "--kernel", try TestGuest.path(), "--cmdline", "test=blk virtio_mmio.device=4K@0xd0000000:5", "--disk", disk.path,
        ])
        #expect(wrong.lines.contains("blk: FAIL virtio-mmio window has no magic value"), "\(wrong.stdout)")
    }

    @Test func tooManyMMIODisksFailBeforeTheGuestStarts() throws {
        let disk = try DiskTests.makeDisk("mmio-many", megabytes: 1)
        defer { try? FileManager.default.removeItem(at: disk) }
        var arguments = ["run", "--transport", "mmio", "--kernel", try TestGuest.path(), "--cmdline", "test=hello"]
        for index in 0..<16 { arguments += ["--disk", "\(disk.path),ro,id=d\(index)"] }
        let result = try SwiftletProcess.run(arguments)
        #expect(result.status != 0)
        #expect(result.stderr.contains("virtio-mmio devices"), "\(result.stderr)")
        #expect(!result.lines.contains("swiftlet-testguest: hello"))
    }

    @Test func anMMIODiskSurvivesSnapshotAndRestore() throws {
        let disk = try DiskTests.makeDisk("mmio-snap")
        defer { try? FileManager.default.removeItem(at: disk) }
        let vm = try RunningSwiftlet(["--transport", "mmio", "--kernel", try TestGuest.path(), "--cmdline", "test=count", "--disk", disk.path])
        try waitUntil(timeout: 20, "the guest to count") { vm.counts.count >= 2 }
        #expect(try vm.curl("PATCH", "/vm", #"{"state": "Paused"}"#).status == 204)
        let state = vm.file("m.state"), memory = vm.file("m.mem")
        #expect(try vm.curl("PUT", "/snapshot/create", #"{"snapshot_path": "\#(state)", "mem_file_path": "\#(memory)"}"#).status == 204)
        _ = vm.stop()
        let saved = String(decoding: try Data(contentsOf: URL(fileURLWithPath: state)), as: UTF8.self)
        #expect(saved.contains("virtio-mmio:0"), "the transport is saved under its own key")
        #expect(!saved.contains("virtio-pci:0"))
        let restored = try RunningSwiftlet(["--restore", state, "--mem", memory], name: "mmio-restored")
        try waitUntil(timeout: 20, "the restored guest to count") { !restored.counts.isEmpty }
    }
}
