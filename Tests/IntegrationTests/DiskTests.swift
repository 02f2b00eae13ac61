import Foundation
import Testing

/// The tiny guest's virtio-pci block driver against Swiftlet's virtio-blk, on /dev/kvm.
@Suite(.serialized, .needsKVM) struct DiskTests {
    static func makeDisk(_ name: String, megabytes: Int = 8) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-disk-\(getpid())-\(name).img")
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: UInt64(megabytes) << 20)
        try handle.close()
        return url
    }

    /// Each engine, with and without O_DIRECT and several queues, under the real seccomp filter
    /// (on by default): io_uring's calls and the engine's threads must be allowed.
    static let diskVariants = ["", ",io=async", ",io=async,direct", ",io=async,queues=4", ",direct"]

    @Test(arguments: diskVariants)
    func guestWritesAPatternThatLandsInTheBackingFile(options: String) throws {
        let disk = try Self.makeDisk("blk")
        defer { try? FileManager.default.removeItem(at: disk) }
        let result = try SwiftletProcess.run([
            "run", "--kernel", try TestGuest.path(), "--cmdline", "test=blk", "--disk", "\(disk.path),id=swiftlet_test\(options)",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines.contains("blk: ok"), "\(result.stdout)")
        #expect(result.lines.contains("blk: id swiftlet_test"))
        let bytes = try [UInt8](Data(contentsOf: disk))
        let pattern = bytes[(2048 * 512)..<(2048 * 512 + 4096)]
        #expect(pattern.enumerated().allSatisfy { $0.element == UInt8(truncatingIfNeeded: $0.offset * 7 + 0x5A) })
        #expect(bytes[0..<(2048 * 512)].allSatisfy { $0 == 0 }, "nothing else was written")
    }

    @Test(arguments: ["", ",io=async"])
    func hostileDescriptorChainsAreRejectedAndTheVMMSurvives(options: String) throws {
        let disk = try Self.makeDisk("evil")
        defer { try? FileManager.default.removeItem(at: disk) }
        let result = try SwiftletProcess.run(["run", "--kernel", try TestGuest.path(), "--cmdline", "test=blk-evil", "--disk", disk.path + options])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.exitedBySignal)
        for attack in ["loop", "outside-ram", "wrapped-length"] {
            #expect(result.lines.contains { $0.hasPrefix("blk-evil: \(attack) rejected") }, "\(result.stdout)")
        }
        #expect(result.lines.contains("blk-evil: ok"), "the device works again after a reset")
        let reports = result.stderr.split(separator: "\n").filter { $0.contains("rejected descriptor chain") }
        #expect(reports.count >= 3, "each attack is reported: \(result.stderr)")
        #expect(try Data(contentsOf: disk).allSatisfy { $0 == 0 }, "no attack wrote to the disk")
    }

    @Test func readOnlyDiskRefusesTheGuestsWrite() throws {
        let disk = try Self.makeDisk("ro")
        defer { try? FileManager.default.removeItem(at: disk) }
        let result = try SwiftletProcess.run(["run", "--kernel", try TestGuest.path(), "--cmdline", "test=blk", "--disk", "\(disk.path),ro"])
        #expect(result.status == 0)
        #expect(result.lines.contains { $0.hasPrefix("blk: FAIL") }, "\(result.stdout)")
        #expect(try Data(contentsOf: disk).allSatisfy { $0 == 0 })
    }

    @Test func badDiskPathsFailBeforeTheGuestStarts() throws {
        let guest = try TestGuest.path()
        for (argument, message) in [
            ("/nonexistent/disk.img", "does not exist"),
            (NSTemporaryDirectory(), "directory"),
            // A running executable cannot be opened for writing (ETXTBSY), even by root.
            (SwiftletProcess.executable.path, "read-write"),
            ("disk.img,bogus", "--disk"),
        ] {
            let result = try SwiftletProcess.run(["run", "--kernel", guest, "--cmdline", "test=hello", "--disk", argument])
            #expect(result.status != 0, "\(argument)")
            #expect(!result.exitedBySignal)
            #expect(result.stdout.isEmpty, "the guest never ran for \(argument)")
            #expect(result.stderr.localizedCaseInsensitiveContains(message), "\(argument): \(result.stderr)")
        }
    }

    @Test func diskSurvivesSnapshotAndRestore() throws {
        let disk = try Self.makeDisk("snap")
        defer { try? FileManager.default.removeItem(at: disk) }
        // The count guest does not touch the disk; the check is that the device's state
        // round-trips and the restored VM reopens the same image.
        let vm = try RunningSwiftlet(["--kernel", try TestGuest.path(), "--cmdline", "test=count", "--disk", disk.path])
        try waitUntil(timeout: 20, "the guest to count") { vm.counts.count >= 2 }
        #expect(try vm.curl("PATCH", "/vm", #"{"state": "Paused"}"#).status == 204)
        let state = vm.file("d.state"), memory = vm.file("d.mem")
        #expect(try vm.curl("PUT", "/snapshot/create", #"{"snapshot_path": "\#(state)", "mem_file_path": "\#(memory)"}"#).status == 204)
        _ = vm.stop()
        let restored = try RunningSwiftlet(["--restore", state, "--mem-file", memory], name: "disk-restored")
        try waitUntil(timeout: 20, "the restored guest to count") { !restored.counts.isEmpty }
        try FileManager.default.removeItem(at: disk)
        let missing = try RunningSwiftlet([], name: "disk-missing")
        let load = try missing.curl("PUT", "/snapshot/load", #"{"snapshot_path": "\#(state)", "mem_file_path": "\#(memory)"}"#)
        #expect(load.status == 400)
        #expect(load.body.contains("does not exist"), "\(load.body)")
    }

    /// `PATCH /drives/{id}` on a running VM: refusals leave the VM as it was, and a swapped
    /// image is what a snapshot taken afterwards restores.
    @Test func driveSwapOverTheAPIIsWhatASnapshotRestores() throws {
        let original = try Self.makeDisk("swap-a"), replacement = try Self.makeDisk("swap-b", megabytes: 12)
        defer {
            try? FileManager.default.removeItem(at: original)
            try? FileManager.default.removeItem(at: replacement)
        }
        let vm = try RunningSwiftlet(["--kernel", try TestGuest.path(), "--cmdline", "test=count", "--disk", "\(original.path),id=data"])
        try waitUntil(timeout: 20, "the guest to count") { vm.counts.count >= 2 }

        let unknown = try vm.curl("PATCH", "/drives/nope", #"{"drive_id": "nope", "path_on_host": "\#(replacement.path)"}"#)
        #expect(unknown.status == 400)
        #expect(unknown.body.contains("no drive 'nope'") && unknown.body.contains("'data'"), "\(unknown.body)")
        let missing = try vm.curl("PATCH", "/drives/data", #"{"drive_id": "data", "path_on_host": "/nonexistent/swiftlet.img"}"#)
        #expect(missing.status == 400)
        #expect(missing.body.contains("/nonexistent/swiftlet.img"), "\(missing.body)")

        let swap = try vm.curl("PATCH", "/drives/data", #"{"drive_id": "data", "path_on_host": "\#(replacement.path)"}"#)
        #expect(swap.status == 204, "\(swap.body)")
        let counted = vm.counts.count
        try waitUntil(timeout: 20, "the guest to go on counting") { vm.counts.count > counted }

        #expect(try vm.curl("PATCH", "/vm", #"{"state": "Paused"}"#).status == 204)
        let state = vm.file("swap.state"), memory = vm.file("swap.mem")
        #expect(try vm.curl("PUT", "/snapshot/create", #"{"snapshot_path": "\#(state)", "mem_file_path": "\#(memory)"}"#).status == 204)
        _ = vm.stop()
        // Only the replacement is left: the restore must open it, not the image the VM booted with.
        try FileManager.default.removeItem(at: original)
        let restored = try RunningSwiftlet(["--restore", state, "--mem-file", memory], name: "swap-restored")
        try waitUntil(timeout: 20, "the restored guest to count") { !restored.counts.isEmpty }
    }

    /// A drive's `rate_limiter` from a config file, under the real seccomp filter: one request
    /// per 300 ms makes the tiny guest's four requests (write, read, flush, get-id) take at least
    /// 900 ms, and they all complete.
    @Test func rateLimitedDriveServesEveryRequestAtItsPace() throws {
        let disk = try Self.makeDisk("limited")
        let config = disk.deletingPathExtension().appendingPathExtension("json")
        defer {
            try? FileManager.default.removeItem(at: disk)
            try? FileManager.default.removeItem(at: config)
        }
        try Data(#"""
            {
              "boot-source": {"kernel_image_path": "\#(try TestGuest.path())", "boot_args": "test=blk"},
              "drives": [{"drive_id": "swiftlet_test", "path_on_host": "\#(disk.path)", "is_root_device": false,
                          "rate_limiter": {"ops": {"size": 1, "refill_time": 300}}}],
              "machine-config": {"vcpu_count": 1, "mem_size_mib": 64}
            }
            """#.utf8).write(to: config)
        let started = Date()
        let result = try SwiftletProcess.run(["run", "--config-file", config.path])
        let elapsed = Date().timeIntervalSince(started)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines.contains("blk: ok"), "\(result.stdout)")
        #expect(elapsed >= 0.85, "four requests at one per 300 ms took only \(elapsed) s")
    }
}
