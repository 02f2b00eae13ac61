import Foundation
import Testing

/// The gaps of issue 13, each driven from outside the way a careless client or a second VMM
/// would hit it.
@Suite(.serialized) struct HardeningTests {
    static func countingVM(_ extra: [String] = [], name: String = "vm") throws -> RunningSwiftlet {
        let vm = try RunningSwiftlet(["--kernel", try TestGuest.path(), "--cmdline", "test=count"] + extra, name: name)
        try waitUntil(timeout: 20, "the guest to count") { vm.counts.count >= 2 }
        return vm
    }

    static func snapshotBody(_ state: String, _ memory: String) -> String {
        #"{"snapshot_path": "\#(state)", "mem_file_path": "\#(memory)"}"#
    }

    @Test func snapshotAndMemoryFileTheSameIsRefused() throws {
        let vm = try Self.countingVM()
        #expect(try vm.curl("PATCH", "/vm", #"{"state": "Paused"}"#).status == 204)
        let path = vm.file("both")
        let create = try vm.curl("PUT", "/snapshot/create", Self.snapshotBody(path, path))
        #expect(create.status == 400, "\(create.body)")
        #expect(create.body.contains("same file"), "\(create.body)")
        #expect(!FileManager.default.fileExists(atPath: path))
        // The same file under two spellings is the same file too.
        let spelled = vm.directory.appendingPathComponent("./both").path
        _ = FileManager.default.createFile(atPath: path, contents: Data("keep".utf8))
        #expect(try vm.curl("PUT", "/snapshot/create", Self.snapshotBody(path, spelled)).status == 400)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep")
        // The VM is unharmed: a proper snapshot still works.
        #expect(try vm.curl("PUT", "/snapshot/create", Self.snapshotBody(vm.file("s"), vm.file("m"))).status == 204)
    }

    @Test func memoryFileOverTheVMsOwnDiskIsRefused() throws {
        let disk = try DiskTests.makeDisk("overlap")
        defer { try? FileManager.default.removeItem(at: disk) }
        let vm = try Self.countingVM(["--disk", disk.path])
        #expect(try vm.curl("PATCH", "/vm", #"{"state": "Paused"}"#).status == 204)
        for body in [Self.snapshotBody(vm.file("s"), disk.path), Self.snapshotBody(disk.path, vm.file("m"))] {
            let create = try vm.curl("PUT", "/snapshot/create", body)
            #expect(create.status == 400, "\(create.body)")
            #expect(create.body.contains("disk"), "\(create.body)")
        }
        #expect(try Data(contentsOf: disk).count == 8 << 20, "the disk image is untouched")
        #expect(try Data(contentsOf: disk).allSatisfy { $0 == 0 })
    }

    @Test func snapshotOverTheKernelIsRefused() throws {
        // A copy of the guest, so the refusal cannot harm the shared one.
        let kernel = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-kernel-\(getpid()).elf")
        try? FileManager.default.removeItem(at: kernel)
        try FileManager.default.copyItem(atPath: try TestGuest.path(), toPath: kernel.path)
        defer { try? FileManager.default.removeItem(at: kernel) }
        let before = try Data(contentsOf: kernel)
        let vm = try RunningSwiftlet(["--kernel", kernel.path, "--cmdline", "test=count"])
        try waitUntil(timeout: 20, "the guest to count") { vm.counts.count >= 2 }
        #expect(try vm.curl("PATCH", "/vm", #"{"state": "Paused"}"#).status == 204)
        let create = try vm.curl("PUT", "/snapshot/create", Self.snapshotBody(vm.file("s"), kernel.path))
        #expect(create.status == 400, "\(create.body)")
        #expect(create.body.contains("kernel"), "\(create.body)")
        #expect(try Data(contentsOf: kernel) == before)
    }

    @Test func aSecondVMMOnTheSameDiskFailsClearly() throws {
        let disk = try DiskTests.makeDisk("lock")
        defer { try? FileManager.default.removeItem(at: disk) }
        let vm = try Self.countingVM(["--disk", disk.path])
        let second = try SwiftletProcess.run(["run", "--kernel", try TestGuest.path(), "--cmdline", "test=hello", "--disk", disk.path], timeout: 30)
        #expect(second.status != 0)
        #expect(!second.exitedBySignal)
        #expect(second.stdout.isEmpty, "the second guest never ran")
        #expect(second.stderr.contains("in use"), "\(second.stderr)")
        // A read-only attach is refused too: the running VM writes the image.
        let reader = try SwiftletProcess.run(["run", "--kernel", try TestGuest.path(), "--cmdline", "test=hello", "--disk", "\(disk.path),ro"], timeout: 30)
        #expect(reader.status != 0)
        #expect(reader.stderr.contains("in use"), "\(reader.stderr)")
        _ = vm.stop()
        // Once the first VMM is gone the image is free again.
        let third = try SwiftletProcess.run(["run", "--kernel", try TestGuest.path(), "--cmdline", "test=hello", "--disk", disk.path], timeout: 30)
        #expect(third.status == 0, "\(third.stderr)")
    }

    /// Console output to a pipe nobody reads: once the pipe is full the guest's writes are
    /// dropped and counted, the vCPU never blocks, and so pause still returns.
    @Test func pauseReturnsWhileStdoutIsAFullPipe() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-pipe-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let socket = directory.appendingPathComponent("api.sock").path
        let process = Process()
        process.executableURL = SwiftletProcess.executable
        // iostorm prints without pause: the pipe is full within milliseconds.
        process.arguments = ["run", "--api-sock", socket, "--kernel", try TestGuest.path(), "--cmdline", "test=iostorm"]
        let unread = Pipe()
        // One page of pipe: a guest printing as fast as it can (slow under PVM) fills it at once.
        let F_SETPIPE_SZ: Int32 = 1031
        _ = fcntl(unread.fileHandleForWriting.fileDescriptor, F_SETPIPE_SZ, 4096)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = unread
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
        try waitUntil(timeout: 20, "the API socket") { FileManager.default.fileExists(atPath: socket) }
        Thread.sleep(forTimeInterval: 2)
        let curl = ["-s", "--max-time", "15", "--unix-socket", socket, "-w", "\n%{http_code}"]
        for state in ["Paused", "Resumed", "Paused"] {
            let output = try RunningSwiftlet.runTool("/usr/bin/curl", curl + ["-X", "PATCH", "-d", #"{"state": "\#(state)"}"#, "http://localhost/vm"])
            #expect(output.hasSuffix("204"), "\(state): \(output)")
        }
        let status = try RunningSwiftlet.runTool("/usr/bin/curl", curl + ["http://localhost/"])
        #expect(status.contains("Paused"), "\(status)")
        withExtendedLifetime(unread) {}
    }

    /// SIGTERM while the memory file is being written: the process ends and leaves neither
    /// the RAM-sized temporary file nor a partial snapshot behind.
    @Test func sigtermDuringASnapshotLeavesNoFiles() throws {
        let vm = try Self.countingVM(["--memory", "8192"])
        #expect(try vm.curl("PATCH", "/vm", #"{"state": "Paused"}"#).status == 204)
        let state = vm.file("t.state"), memory = vm.file("t.mem")
        let body = Self.snapshotBody(state, memory)
        // curl runs detached: the VMM may die under it, which is the point.
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-s", "--max-time", "60", "--unix-socket", vm.socketPath, "-X", "PUT", "-d", body, "http://localhost/snapshot/create"]
        curl.standardOutput = FileHandle.nullDevice
        try curl.run()
        defer { curl.waitUntilExit() }
        let isTemporary = { (name: String) in name.contains(".tmp-") }
        var sawTemporary = false
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline && !sawTemporary {
            sawTemporary = (try? FileManager.default.contentsOfDirectory(atPath: vm.directory.path))?.contains(where: isTemporary) ?? false
            if !sawTemporary { usleep(2_000) }
        }
        try #require(sawTemporary, "the snapshot never showed its temporary file")
        kill(vm.process.processIdentifier, SIGTERM)
        let (status, stderr) = try vm.waitForExit(timeout: 30)
        #expect(status != 0 || stderr.contains("signal"), "\(stderr)")
        let left = try FileManager.default.contentsOfDirectory(atPath: vm.directory.path)
        #expect(!left.contains(where: isTemporary), "\(left)")
        #expect(!left.contains("t.mem") || !left.contains("t.state"), "no complete-looking snapshot: \(left)")
    }
}
