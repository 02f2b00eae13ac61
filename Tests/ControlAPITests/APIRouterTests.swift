@testable import ControlAPI
import SwiftletCore
import Testing

@Suite("API routing and body validation")
struct APIRouterTests {
    private func route(_ method: String, _ path: String, _ body: String = "") throws(APIFault) -> APIRequest {
        try APIRouter.route(method: method, target: path, body: Array(body.utf8))
    }

    @Test func getRoutes() throws {
        #expect(try route("GET", "/") == .getInstanceInfo)
        #expect(try route("GET", "/version") == .getVersion)
        #expect(try route("GET", "/vm/config") == .getVMConfiguration)
        #expect(try route("GET", "/machine-config") == .getMachineConfig)
        // Query strings and trailing slashes do not change the route.
        #expect(try route("GET", "/vm/config/?pretty=1") == .getVMConfiguration)
    }

    @Test func machineConfig() throws {
        #expect(
            try route("PUT", "/machine-config", #"{"vcpu_count": 2, "mem_size_mib": 256}"#)
                == .putMachineConfig(MachineConfig(vcpuCount: 2, memSizeMiB: 256)))
        // Firecracker's optional switches are accepted when they are off.
        #expect(
            try route(
                "PUT", "/machine-config",
                #"{"vcpu_count": 32, "mem_size_mib": 16, "smt": false, "track_dirty_pages": false, "huge_pages": "None"}"#)
                == .putMachineConfig(MachineConfig(vcpuCount: 32, memSizeMiB: 16)))
        // Dirty page tracking is Firecracker's switch for diff snapshots, in PUT and PATCH.
        #expect(
            try route("PUT", "/machine-config", #"{"vcpu_count": 1, "mem_size_mib": 64, "track_dirty_pages": true}"#)
                == .putMachineConfig(MachineConfig(vcpuCount: 1, memSizeMiB: 64, trackDirtyPages: true)))
        #expect(
            try route("PATCH", "/machine-config", #"{"track_dirty_pages": true}"#)
                == .patchMachineConfig(MachineConfigUpdate(trackDirtyPages: true)))
        #expect(MachineConfigUpdate(trackDirtyPages: true).applied(to: .firecrackerDefault).trackDirtyPages)
        #expect(!MachineConfigUpdate(vcpuCount: 2).applied(to: MachineConfig(vcpuCount: 1, memSizeMiB: 64, trackDirtyPages: false)).trackDirtyPages)
    }

    @Test func bootSource() throws {
        #expect(
            try route("PUT", "/boot-source", #"{"kernel_image_path": "/k/vmlinux", "boot_args": "console=ttyS0"}"#)
                == .putBootSource(BootSource(kernelImagePath: "/k/vmlinux", bootArgs: "console=ttyS0")))
        #expect(
            try route("PUT", "/boot-source", #"{"kernel_image_path": "/k", "initrd_path": "/i", "boot_args": null}"#)
                == .putBootSource(BootSource(kernelImagePath: "/k", bootArgs: nil, initrdPath: "/i")))
    }

    @Test func drive() throws {
        let body = #"{"drive_id": "rootfs", "path_on_host": "/img/root.ext4", "is_root_device": true, "is_read_only": true, "cache_type": "Unsafe", "io_engine": "Sync", "partuuid": null}"#
        #expect(
            try route("PUT", "/drives/rootfs", body)
                == .putDrive(Drive(driveID: "rootfs", pathOnHost: "/img/root.ext4", isRootDevice: true, isReadOnly: true, cacheType: .unsafe)))
        // Without cache_type Swiftlet syncs on flush (Firecracker's default would be Unsafe).
        #expect(
            try route("PUT", "/drives/b", #"{"drive_id": "b", "path_on_host": "/d", "is_root_device": false, "cache_type": "Writeback"}"#)
                == .putDrive(Drive(driveID: "b", pathOnHost: "/d", isRootDevice: false, cacheType: .writeback)))
        // io_engine Async and Swiftlet's own direct and num_queues.
        #expect(
            try route(
                "PUT", "/drives/c", #"{"drive_id": "c", "path_on_host": "/d", "is_root_device": false, "io_engine": "Async", "direct": true, "num_queues": 4}"#)
                == .putDrive(Drive(driveID: "c", pathOnHost: "/d", isRootDevice: false, ioEngine: .async, direct: true, queueCount: 4)))
        #expect(
            try route("PUT", "/drives/data_1", #"{"drive_id": "data_1", "path_on_host": "/d", "is_root_device": false}"#)
                == .putDrive(Drive(driveID: "data_1", pathOnHost: "/d", isRootDevice: false, isReadOnly: false)))
        // The longest ID a virtio-blk serial holds.
        #expect(
            try route("PUT", "/drives/abcdefghij_123456789", #"{"drive_id": "abcdefghij_123456789", "path_on_host": "/d", "is_root_device": false}"#)
                == .putDrive(Drive(driveID: "abcdefghij_123456789", pathOnHost: "/d", isRootDevice: false)))
    }

    @Test func driveUpdate() throws {
        #expect(
            try route("PATCH", "/drives/scratch", #"{"drive_id": "scratch", "path_on_host": "/img/new.ext4"}"#)
                == .patchDrive(DriveUpdate(driveID: "scratch", pathOnHost: "/img/new.ext4")))
        // A null rate limiter is Firecracker's "none".
        #expect(
            try route("PATCH", "/drives/scratch", #"{"drive_id": "scratch", "path_on_host": "/n", "rate_limiter": null}"#)
                == .patchDrive(DriveUpdate(driveID: "scratch", pathOnHost: "/n")))
        #expect(
            try route("PATCH", "/drives/scratch", #"{"drive_id": "scratch", "rate_limiter": {"ops": {"size": 100, "refill_time": 1000}}}"#)
                == .patchDrive(DriveUpdate(driveID: "scratch", rateLimiter: .init(operations: .init(size: 100, refillTimeMilliseconds: 1000)))))
        let refusals: [(String, String, String)] = [
            ("/drives/scratch", #"{"drive_id": "other", "path_on_host": "/n"}"#, "does not match"),
            ("/drives/scratch", #"{"drive_id": "scratch"}"#, "'path_on_host', 'rate_limiter' or both"),
            ("/drives/scratch", #"{"drive_id": "scratch", "path_on_host": ""}"#, "must not be empty"),
            ("/drives/scratch", #"{"drive_id": "scratch", "path_on_host": "/n", "is_read_only": true}"#, "is_read_only"),
            ("/drives/scratch", #"{"drive_id": "scratch", "rate_limiter": {"bandwidth": {"size": -1, "refill_time": 1}}}"#, "must not be negative"),
            ("/drives/scratch", #"{"drive_id": "scratch", "rate_limiter": {"bandwidth": {"size": 1}}}"#, "missing required field 'refill_time'"),
            ("/drives/scratch", #"{"drive_id": "scratch", "rate_limiter": {"bandwith": {"size": 1, "refill_time": 1}}}"#, "unknown field 'bandwith'"),
            ("/drives/scratch", #"{"drive_id": "scratch", "rate_limiter": {"ops": {"size": 1, "refill_time": 1, "burst": 5}}}"#, "unknown field 'burst'"),
            ("/drives/scratch", "not json", "drive"),
        ]
        for (path, body, phrase) in refusals {
            #expect {
                try route("PATCH", path, body)
            } throws: { error in
                (error as? APIFault)?.message.contains(phrase) == true
            }
        }
    }

    @Test func driveWithARateLimiter() throws {
        let body = #"{"drive_id": "d", "path_on_host": "/d", "is_root_device": false, "rate_limiter": {"bandwidth": {"size": 1048576, "one_time_burst": 4096, "refill_time": 1000}, "ops": null}}"#
        let limit = RateLimitConfiguration(bandwidth: .init(size: 1_048_576, oneTimeBurst: 4096, refillTimeMilliseconds: 1000))
        let request = try route("PUT", "/drives/d", body)
        #expect(request == .putDrive(Drive(driveID: "d", pathOnHost: "/d", isRootDevice: false, rateLimiter: limit)))
        // GET /vm/config gives it back in the same words.
        guard case .putDrive(let drive) = request else { return }
        #expect(try Drive(json: drive.jsonValue, context: "drive") == drive)
    }

    @Test func actionsAndVMState() throws {
        #expect(try route("PUT", "/actions", #"{"action_type": "InstanceStart"}"#) == .instanceStart)
        #expect(try route("PUT", "/actions", #"{"action_type": "SendCtrlAltDel"}"#) == .sendCtrlAltDel)
        #expect(try route("PUT", "/actions", #"{"action_type": "FlushMetrics"}"#) == .flushMetrics)
        #expect(try route("PATCH", "/vm", #"{"state": "Paused"}"#) == .pause)
        #expect(try route("PATCH", "/vm", #"{"state": "Resumed"}"#) == .resume)
    }

    @Test func snapshots() throws {
        #expect(
            try route("PUT", "/snapshot/create", #"{"snapshot_path": "/s/state", "mem_file_path": "/s/mem"}"#)
                == .createSnapshot(SnapshotFiles(snapshotPath: "/s/state", memFilePath: "/s/mem")))
        #expect(
            try route("PUT", "/snapshot/create", #"{"snapshot_path": "a", "mem_file_path": "b", "snapshot_type": "Full"}"#)
                == .createSnapshot(SnapshotFiles(snapshotPath: "a", memFilePath: "b")))
        #expect(
            try route("PUT", "/snapshot/create", #"{"snapshot_path": "a", "mem_file_path": "b", "snapshot_type": "Diff"}"#)
                == .createSnapshot(SnapshotFiles(snapshotPath: "a", memFilePath: "b", snapshotType: .diff)))
        #expect(
            try route(
                "PUT", "/snapshot/load",
                #"{"snapshot_path": "/s/state", "mem_backend": {"backend_type": "File", "backend_path": "/s/mem"}, "resume_vm": true}"#)
                == .loadSnapshot(SnapshotLoadRequest(files: SnapshotFiles(snapshotPath: "/s/state", memFilePath: "/s/mem"), resumeVM: true)))
        #expect(
            try route("PUT", "/snapshot/load", #"{"snapshot_path": "/s/state", "mem_file_path": "/s/mem", "enable_diff_snapshots": false}"#)
                == .loadSnapshot(SnapshotLoadRequest(files: SnapshotFiles(snapshotPath: "/s/state", memFilePath: "/s/mem"), resumeVM: false)))
        // Dirty page tracking on the restored VM, under Firecracker's current name and its older one.
        for field in ["track_dirty_pages", "enable_diff_snapshots"] {
            #expect(
                try route("PUT", "/snapshot/load", #"{"snapshot_path": "/s/state", "mem_file_path": "/s/mem", "\#(field)": true}"#)
                    == .loadSnapshot(
                        SnapshotLoadRequest(files: SnapshotFiles(snapshotPath: "/s/state", memFilePath: "/s/mem"), trackDirtyPages: true)))
        }
    }

    @Test func hostileBodiesAreRefusedWithoutCrashing() {
        let deep = String(repeating: "[", count: 60_000) + String(repeating: "]", count: 60_000)
        #expect(throws: APIFault.self) { try route("PUT", "/actions", deep) }
        let deepObject = String(repeating: #"{"a":"#, count: 10_000) + "1" + String(repeating: "}", count: 10_000)
        #expect(throws: APIFault.self) { try route("PUT", "/actions", deepObject) }
        #expect(throws: APIFault.self) { try route("PUT", "/actions", "\u{0}\u{FFFF}\u{1F600}") }
        let invalidUTF8: [UInt8] = Array(#"{"action_type": ""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)
        #expect(throws: APIFault.self) { try APIRouter.route(method: "PUT", target: "/actions", body: invalidUTF8) }
    }

    /// (method, path, body, text the fault message must contain)
    static let refusals: [(String, String, String, String)] = [
        // Unknown paths and methods.
        ("GET", "/nope", "", "Invalid request method and/or path"),
        ("DELETE", "/machine-config", "", "Invalid request method and/or path"),
        ("POST", "/actions", #"{"action_type": "InstanceStart"}"#, "Invalid request method and/or path"),
        ("GET", "/actions", "", "Invalid request method and/or path"),
        ("PUT", "/", "{}", "Invalid request method and/or path"),
        ("PUT", "/drives", #"{"drive_id": "a", "path_on_host": "/d", "is_root_device": false}"#, "Invalid request method and/or path"),
        ("PUT", "/drives/a/b", #"{"drive_id": "a", "path_on_host": "/d", "is_root_device": false}"#, "Invalid request method and/or path"),
        ("PATCH", "/drives", #"{"drive_id": "a", "path_on_host": "/d"}"#, "Invalid request method and/or path"),
        // Bodies that are not JSON objects.
        ("PUT", "/machine-config", "", "is empty"),
        ("PUT", "/machine-config", "  \n ", "is empty"),
        ("PUT", "/machine-config", #"{"vcpu_count": 2,"#, "not valid JSON"),
        ("PUT", "/machine-config", "vcpu_count=2", "not valid JSON"),
        ("PUT", "/machine-config", "[1, 2]", "expected a JSON object, got an array"),
        ("PUT", "/actions", #""InstanceStart""#, "expected a JSON object, got a string"),
        // Wrong types.
        ("PUT", "/machine-config", #"{"vcpu_count": "2", "mem_size_mib": 128}"#, "'vcpu_count' must be an integer, got a string"),
        ("PUT", "/machine-config", #"{"vcpu_count": 2, "mem_size_mib": 1.5}"#, "'mem_size_mib' must be an integer, got a number"),
        ("PUT", "/machine-config", #"{"vcpu_count": true, "mem_size_mib": 128}"#, "'vcpu_count' must be an integer, got a boolean"),
        ("PUT", "/boot-source", #"{"kernel_image_path": 5}"#, "'kernel_image_path' must be a string, got a number"),
        ("PUT", "/drives/a", #"{"drive_id": "a", "path_on_host": "/d", "is_root_device": "true"}"#, "'is_root_device' must be a boolean, got a string"),
        ("PUT", "/actions", #"{"action_type": ["InstanceStart"]}"#, "'action_type' must be a string, got an array"),
        ("PUT", "/snapshot/load", #"{"snapshot_path": "s", "mem_backend": "File"}"#, "expected a JSON object, got a string"),
        // Missing required fields.
        ("PUT", "/machine-config", #"{"vcpu_count": 2}"#, "missing required field 'mem_size_mib'"),
        ("PUT", "/machine-config", #"{"mem_size_mib": 128}"#, "missing required field 'vcpu_count'"),
        ("PUT", "/boot-source", #"{"boot_args": "console=ttyS0"}"#, "missing required field 'kernel_image_path'"),
        ("PUT", "/drives/a", #"{"drive_id": "a", "path_on_host": "/d"}"#, "missing required field 'is_root_device'"),
        ("PUT", "/drives/a", #"{"drive_id": "a", "is_root_device": true}"#, "missing required field 'path_on_host'"),
        ("PUT", "/actions", "{}", "missing required field 'action_type'"),
        ("PATCH", "/vm", "{}", "missing required field 'state'"),
        ("PUT", "/snapshot/create", #"{"snapshot_path": "s"}"#, "missing required field 'mem_file_path'"),
        ("PUT", "/snapshot/load", #"{"mem_file_path": "m"}"#, "missing required field 'snapshot_path'"),
        ("PUT", "/snapshot/load", #"{"snapshot_path": "s", "mem_backend": {"backend_type": "File"}}"#, "missing required field 'backend_path'"),
        ("PUT", "/machine-config", #"{"vcpu_count": null, "mem_size_mib": 128}"#, "missing required field 'vcpu_count'"),
        // Unknown fields.
        ("PUT", "/machine-config", #"{"vcpu_count": 2, "mem_size_mib": 128, "vcpus": 4}"#, "unknown field 'vcpus'"),
        ("PUT", "/boot-source", #"{"kernel_image_path": "/k", "bootargs": "x", "initrd": "y"}"#, "unknown fields 'bootargs', 'initrd'"),
        ("PUT", "/actions", #"{"action_type": "FlushMetrics", "force": true}"#, "unknown field 'force'"),
        ("PATCH", "/vm", #"{"state": "Paused", "now": 1}"#, "unknown field 'now'"),
        ("PUT", "/snapshot/load", #"{"snapshot_path": "s", "mem_file_path": "m", "mem_backend_x": 1}"#, "unknown field 'mem_backend_x'"),
        // Values out of range or not supported.
        // MachineLimits' words, with the field named as the client spelled it.
        ("PUT", "/machine-config", #"{"vcpu_count": 0, "mem_size_mib": 128}"#, "Invalid machine-config: vcpu_count must be between 1 and 32 (got 0)."),
        ("PUT", "/machine-config", #"{"vcpu_count": 33, "mem_size_mib": 128}"#, "vcpu_count must be between 1 and 32 (got 33)"),
        ("PUT", "/machine-config", #"{"vcpu_count": 1, "mem_size_mib": 0}"#, "mem_size_mib must be between 16 and 1048576 MiB (got 0)"),
        ("PUT", "/machine-config", #"{"vcpu_count": 1, "mem_size_mib": 15}"#, "mem_size_mib must be between 16 and 1048576 MiB (got 15)"),
        ("PUT", "/machine-config", #"{"vcpu_count": 1, "mem_size_mib": 1048577}"#, "(got 1048577)"),
        ("PUT", "/machine-config", #"{"vcpu_count": 1, "mem_size_mib": 99999999999999999999}"#, "must be an integer"),
        ("PUT", "/machine-config", #"{"vcpu_count": 1, "mem_size_mib": 128, "smt": true}"#, "not supported"),
        ("PUT", "/machine-config", #"{"vcpu_count": 1, "mem_size_mib": 128, "huge_pages": "2M"}"#, "huge pages"),
        ("PUT", "/boot-source", #"{"kernel_image_path": ""}"#, "'kernel_image_path' must not be empty"),
        ("PUT", "/drives/rootfs", #"{"drive_id": "other", "path_on_host": "/d", "is_root_device": true}"#, "does not match"),
        ("PUT", "/drives/bad-id", #"{"drive_id": "bad-id", "path_on_host": "/d", "is_root_device": true}"#, "letters, digits or underscores"),
        // 21 bytes: one more than a virtio-blk serial holds (64 were accepted before).
        (
            "PUT", "/drives/abcdefghij0123456789x", #"{"drive_id": "abcdefghij0123456789x", "path_on_host": "/d", "is_root_device": true}"#,
            "Invalid drive: drive_id 'abcdefghij0123456789x' must be 1 to 20 ASCII letters, digits or underscores."
        ),
        ("PUT", "/drives/a", #"{"drive_id": "a", "path_on_host": "/d", "is_root_device": true, "rate_limiter": 5}"#, "expected a JSON object"),
        ("PUT", "/drives/a", #"{"drive_id": "a", "path_on_host": "/d", "is_root_device": true, "io_engine": "Uring"}"#, #"field 'io_engine' must be one of "Sync", "Async""#),
        ("PUT", "/drives/a", #"{"drive_id": "a", "path_on_host": "/d", "is_root_device": true, "num_queues": 0}"#, "num_queues must be between 1 and 64 (got 0)"),
        ("PUT", "/drives/a", #"{"drive_id": "a", "path_on_host": "/d", "is_root_device": true, "num_queues": 65}"#, "(got 65)"),
        ("PUT", "/drives/a", #"{"drive_id": "a", "path_on_host": "/d", "is_root_device": true, "direct": "yes"}"#, "direct"),
        (
            "PUT", "/drives/a", #"{"drive_id": "a", "path_on_host": "/d", "is_root_device": true, "cache_type": "None"}"#,
            #"field 'cache_type' must be one of "Unsafe", "Writeback""#
        ),
        ("PUT", "/drives/a", #"{"drive_id": "a", "path_on_host": "/d", "is_root_device": true, "cache_type": 1}"#, "cache_type"),
        ("PUT", "/actions", #"{"action_type": "Reboot"}"#, "unknown action_type 'Reboot'"),
        ("PATCH", "/vm", #"{"state": "Stopped"}"#, "unknown state 'Stopped'"),
        ("PUT", "/snapshot/create", #"{"snapshot_path": "s", "mem_file_path": "m", "snapshot_type": 1}"#, "'snapshot_type' must be a string"),
        ("PUT", "/machine-config", #"{"vcpu_count": 1, "mem_size_mib": 128, "track_dirty_pages": "yes"}"#, "'track_dirty_pages' must be a boolean"),
        ("PUT", "/snapshot/create", #"{"snapshot_path": "s", "mem_file_path": "m", "snapshot_type": "Half"}"#, "unknown snapshot_type"),
        ("PUT", "/snapshot/load", #"{"snapshot_path": "s"}"#, "got neither"),
        ("PUT", "/snapshot/load", #"{"snapshot_path": "s", "mem_file_path": "m", "mem_backend": {"backend_type": "File", "backend_path": "m"}}"#, "got both"),
        ("PUT", "/snapshot/load", #"{"snapshot_path": "s", "mem_backend": {"backend_type": "Uffd", "backend_path": "/uffd.sock"}}"#, "Uffd memory backend is not supported"),
        ("PUT", "/snapshot/load", #"{"snapshot_path": "s", "mem_file_path": "m", "track_dirty_pages": 1}"#, "'track_dirty_pages' must be a boolean"),
    ]

    @Test(arguments: refusals)
    func refusal(_ request: (String, String, String, String)) {
        let (method, path, body, expected) = request
        do {
            let routed = try route(method, path, body)
            Issue.record("\(method) \(path) \(body) was accepted as \(routed)")
        } catch {
            #expect(error.status == 400)
            #expect(error.message.contains(expected), "\(method) \(path): '\(error.message)' lacks '\(expected)'")
        }
    }
}
