import Foundation
import Testing

/// Pause, resume, snapshot and restore of the tiny guest's `count` scenario, driven over the
/// control socket with curl.
@Suite(.serialized, .needsKVM) struct ControlSocketTests {
    func countingVM() throws -> RunningSwiftlet {
        let vm = try RunningSwiftlet(["--kernel", try TestGuest.path(), "--cmdline", "test=count"])
        try waitUntil(timeout: 20, "the guest to count") { vm.counts.count >= 2 }
        return vm
    }

    @Test func statusReportsRunningAndPaused() throws {
        let vm = try countingVM()
        let running = try vm.curl("GET", "/")
        #expect(running.status == 200)
        #expect(running.body.contains("\"state\":\"Running\""))
        #expect(try vm.curl("PATCH", "/vm", #"{"state": "Paused"}"#).status == 204)
        #expect(try vm.curl("GET", "/").body.contains("\"state\":\"Paused\""))
        #expect(try vm.curl("PATCH", "/vm", #"{"state": "Resumed"}"#).status == 204)
        #expect(try vm.curl("GET", "/").body.contains("\"state\":\"Running\""))
    }

    @Test func pauseStopsTheGuestAndResumeContinuesWithTheNextNumber() throws {
        let vm = try countingVM()
        #expect(try vm.curl("PATCH", "/vm", #"{"state": "Paused"}"#).status == 204)
        let atPause = vm.counts
        usleep(1_500_000)  // about 15 lines' worth of time
        #expect(vm.counts == atPause, "no output while paused")
        #expect(try vm.curl("PATCH", "/vm", #"{"state": "Resumed"}"#).status == 204)
        let last = try #require(atPause.last)
        try waitUntil(timeout: 20, "output after resume") { vm.counts.count > atPause.count }
        #expect(vm.counts[atPause.count] == last + 1)
    }

    @Test func snapshotRestoredInANewProcessCarriesOnCounting() throws {
        let vm = try countingVM()
        let state = vm.file("snap.state"), memory = vm.file("snap.mem")
        #expect(try vm.curl("PATCH", "/vm", #"{"state": "Paused"}"#).status == 204)
        let lastBeforeSnapshot = try #require(vm.counts.last)
        let consoleAtSnapshot = vm.console
        let create = try vm.curl("PUT", "/snapshot/create", #"{"snapshot_type": "Full", "snapshot_path": "\#(state)", "mem_file_path": "\#(memory)"}"#)
        #expect(create.status == 204, "\(create.body)")
        _ = vm.stop()  // the original process is gone; only the files remain

        // Restore twice, each in a fresh process, once through the API and once from the command line.
        let throughAPI = try RunningSwiftlet([], name: "restored-api")
        let load = try throughAPI.curl(
            "PUT", "/snapshot/load",
            #"{"snapshot_path": "\#(state)", "mem_backend": {"backend_type": "File", "backend_path": "\#(memory)"}, "resume_vm": true}"#)
        #expect(load.status == 204, "\(load.body)")
        let fromCommandLine = try RunningSwiftlet(["--restore", state, "--mem-file", memory], name: "restored-cli")

        for restored in [throughAPI, fromCommandLine] {
            try waitUntil(timeout: 20, "the restored guest to count") { restored.counts.count >= 2 }
            // The restored console continues the original one, possibly mid-line: together
            // they must count 1, 2, 3, ... past the snapshot with no restart and no gap.
            let together = RunningSwiftlet.countNumbers(in: consoleAtSnapshot + restored.console)
            #expect(RunningSwiftlet.isUnbrokenCount(together), "\(together.suffix(8))")
            #expect((together.last ?? 0) > lastBeforeSnapshot + 1)
            #expect(!restored.console.hasPrefix("count 1\n"), "the guest did not start over")
        }
        #expect(try fromCommandLine.curl("GET", "/").body.contains("\"state\":\"Running\""))
    }

    @Test func snapshotOfARunningVMIsRefused() throws {
        let vm = try countingVM()
        let create = try vm.curl("PUT", "/snapshot/create", #"{"snapshot_path": "\#(vm.file("s"))", "mem_file_path": "\#(vm.file("m"))"}"#)
        #expect(create.status == 400)
        #expect(create.body.contains("fault_message"))
        #expect(!FileManager.default.fileExists(atPath: vm.file("s")))
    }

    @Test func restoreRejectsACorruptStateFileAndKeepsServing() throws {
        let vm = try countingVM()
        let state = vm.file("snap.state"), memory = vm.file("snap.mem")
        #expect(try vm.curl("PATCH", "/vm", #"{"state": "Paused"}"#).status == 204)
        #expect(try vm.curl("PUT", "/snapshot/create", #"{"snapshot_path": "\#(state)", "mem_file_path": "\#(memory)"}"#).status == 204)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: state)))
        bytes[bytes.count / 2] ^= 0x10
        let corrupt = vm.file("corrupt.state")
        try Data(bytes).write(to: URL(fileURLWithPath: corrupt))

        let fresh = try RunningSwiftlet([], name: "fresh")
        let load = try fresh.curl("PUT", "/snapshot/load", #"{"snapshot_path": "\#(corrupt)", "mem_file_path": "\#(memory)"}"#)
        #expect(load.status == 400)
        #expect(load.body.localizedCaseInsensitiveContains("crc") || load.body.localizedCaseInsensitiveContains("checksum"), "\(load.body)")
        #expect(try fresh.curl("GET", "/").body.contains("Not started"), "a failed load leaves no partial VM")

        // A memory file of the wrong size, a truncated state file and a missing one.
        let shortMemory = vm.file("short.mem")
        try Data(count: 4096).write(to: URL(fileURLWithPath: shortMemory))
        let truncated = vm.file("truncated.state")
        try Data(bytes.prefix(bytes.count / 3)).write(to: URL(fileURLWithPath: truncated))
        for (statePath, memoryPath, expected) in [
            (state, shortMemory, "bytes"), (truncated, memory, "truncated"), (vm.file("absent.state"), memory, "absent.state"),
        ] {
            let result = try SwiftletProcess.run(["run", "--restore", statePath, "--mem-file", memoryPath], timeout: 30)
            #expect(result.status != 0 && !result.exitedBySignal)
            #expect(result.stdout.isEmpty, "nothing ran")
            #expect(result.stderr.contains(expected), "\(result.stderr)")
        }
    }

    @Test func ctrlAltDelRebootsTheGuestThroughTheI8042() throws {
        // The tiny guest does not read its keyboard, so the check is that the API accepts the
        // action on a running VM and refuses it before start.
        let idle = try RunningSwiftlet([], name: "idle")
        #expect(try idle.curl("PUT", "/actions", #"{"action_type": "SendCtrlAltDel"}"#).status == 400)
        let vm = try countingVM()
        #expect(try vm.curl("PUT", "/actions", #"{"action_type": "SendCtrlAltDel"}"#).status == 204)
    }

    @Test func bootThroughTheAPIAlone() throws {
        let vm = try RunningSwiftlet([], name: "configured")
        #expect(try vm.curl("GET", "/").body.contains("Not started"))
        #expect(try vm.curl("PUT", "/machine-config", #"{"vcpu_count": 1, "mem_size_mib": 64}"#).status == 204)
        #expect(try vm.curl("PUT", "/boot-source", #"{"kernel_image_path": "\#(try TestGuest.path())", "boot_args": "test=hello"}"#).status == 204)
        #expect(try vm.curl("PUT", "/actions", #"{"action_type": "InstanceStart"}"#).status == 204)
        let exit = try vm.waitForExit(timeout: 30)
        #expect(exit.status == 0, "\(exit.stderr)")
        #expect(vm.console == "swiftlet-testguest: hello\n")
    }
}

/// A guest idling in HLT never leaves KVM_RUN by itself: pause, snapshot and stop must still
/// reach its vCPU (the kick signal must not be blocked on the vCPU thread).
@Suite(.serialized, .needsKVM) struct IdleGuestTests {
    @Test func pauseSnapshotAndStopReachAnIdleVCPU() throws {
        let vm = try RunningSwiftlet(["--kernel", try TestGuest.path(), "--cmdline", "test=idle"])
        try waitUntil(timeout: 20, "the guest to go idle") { vm.console.contains("swiftlet-testguest: idle") }
        usleep(200_000)
        #expect(try vm.curl("PATCH", "/vm", #"{"state": "Paused"}"#).status == 204)
        let create = try vm.curl("PUT", "/snapshot/create", #"{"snapshot_path": "\#(vm.file("i.state"))", "mem_file_path": "\#(vm.file("i.mem"))"}"#)
        #expect(create.status == 204, "\(create.body)")
        #expect(try vm.curl("PATCH", "/vm", #"{"state": "Resumed"}"#).status == 204)
        let started = Date()
        let exit = vm.stop()
        #expect(Date().timeIntervalSince(started) < 10, "SIGTERM stopped the idle VM promptly")
        #expect(exit.status == 0, "\(exit.stderr)")
    }
}

/// `--config-file` takes Firecracker's JSON configuration and boots at once.
@Suite(.needsKVM) struct ConfigFileTests {
    @Test func firecrackerConfigFileBootsTheGuest() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-config-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("vm.json")
        try Data(#"""
            {
              "boot-source": {"kernel_image_path": "\#(try TestGuest.path())", "boot_args": "test=hello"},
              "drives": [],
              "machine-config": {"vcpu_count": 1, "mem_size_mib": 64},
              "network-interfaces": []
            }
            """#.utf8).write(to: config)
        let result = try SwiftletProcess.run(["run", "--config-file", config.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "swiftlet-testguest: hello\n")

        try Data(#"{"boot-source": {"kernel_image_path": 7}}"#.utf8).write(to: config)
        let bad = try SwiftletProcess.run(["run", "--config-file", config.path])
        #expect(bad.status != 0 && !bad.exitedBySignal)
        #expect(bad.stderr.contains("kernel_image_path"), "\(bad.stderr)")
    }
}
