import Foundation
import Testing

/// Diff snapshots (`track_dirty_pages`, `snapshot_type: "Diff"`, `swiftlet snapshot-rebase`)
/// against the host's /dev/kvm. A KVM without dirty logging (PVM) must refuse the boot with
/// an error naming the feature; a KVM with it must produce a diff smaller than a full snapshot
/// that, rebased onto its base, equals a full snapshot taken at the same moment.
@Suite(.serialized, .needsKVM) struct DiffSnapshotTests {
    static let unavailable = "dirty page tracking (track_dirty_pages) is unavailable: /dev/kvm refused KVM_MEM_LOG_DIRTY_PAGES ("

    /// Pauses `vm`, takes a Diff into `diff` and then a Full into `full` at that one pause,
    /// and stops the VMM.
    func pauseThenDiffAndFull(_ vm: RunningSwiftlet, diff: String, full: String) throws {
        #expect(try vm.curl("PATCH", "/vm", #"{"state": "Paused"}"#).status == 204)
        let diffSnapshot = try vm.curl(
            "PUT", "/snapshot/create", #"{"snapshot_type": "Diff", "snapshot_path": "\#(vm.file("diff.state"))", "mem_file_path": "\#(diff)"}"#)
        #expect(diffSnapshot.status == 204, "\(diffSnapshot.body)")
        let fullSnapshot = try vm.curl("PUT", "/snapshot/create", #"{"snapshot_path": "\#(vm.file("full.state"))", "mem_file_path": "\#(full)"}"#)
        #expect(fullSnapshot.status == 204, "\(fullSnapshot.body)")
        _ = vm.stop()
    }

    /// Bytes the file really occupies (holes excluded).
    func allocated(_ path: String) throws -> Int {
        var info = stat()
        try #require(stat(path, &info) == 0)
        return Int(info.st_blocks) * 512
    }

    @Test func trackDirtyPagesEitherFailsTheBootClearlyOrGivesWorkingDiffs() throws {
        let vm = try RunningSwiftlet([], name: "dirty")
        #expect(try vm.curl("PUT", "/boot-source", #"{"kernel_image_path": "\#(try TestGuest.path())", "boot_args": "test=count"}"#).status == 204)
        let config = try vm.curl("PUT", "/machine-config", #"{"vcpu_count": 1, "mem_size_mib": 64, "track_dirty_pages": true}"#)
        #expect(config.status == 204, "\(config.body)")
        #expect(try vm.curl("GET", "/machine-config").body.contains(#""track_dirty_pages":true"#))
        let start = try vm.curl("PUT", "/actions", #"{"action_type": "InstanceStart"}"#)
        if start.status == 400 {
            // A KVM without dirty logging (PVM): the refusal names the feature, the ioctl flag and
            // the errno, and the VMM stays up to answer.
            #expect(start.body.contains(Self.unavailable), "\(start.body)")
            #expect(try vm.curl("GET", "/").status == 200)
            let stopped = vm.stop()
            #expect(!stopped.stderr.contains("Fatal error"), "\(stopped.stderr)")
            return
        }
        #expect(start.status == 204, "\(start.body)")
        try waitUntil(timeout: 20, "the guest to count") { vm.counts.count >= 2 }

        let base = vm.file("base.mem"), diff = vm.file("diff.mem"), full = vm.file("full.mem")
        #expect(try vm.curl("PATCH", "/vm", #"{"state": "Paused"}"#).status == 204)
        let baseSnapshot = try vm.curl("PUT", "/snapshot/create", #"{"snapshot_path": "\#(vm.file("base.state"))", "mem_file_path": "\#(base)"}"#)
        #expect(baseSnapshot.status == 204, "\(baseSnapshot.body)")
        #expect(try vm.curl("PATCH", "/vm", #"{"state": "Resumed"}"#).status == 204)
        let counted = vm.counts.count
        try waitUntil(timeout: 20, "more counting") { vm.counts.count >= counted + 3 }
        try pauseThenDiffAndFull(vm, diff: diff, full: full)

        let diffSize = try allocated(diff), fullSize = try allocated(full)
        #expect(diffSize > 0 && diffSize < fullSize, "diff \(diffSize) bytes, full \(fullSize)")
        // Same size on paper: the diff is guest RAM with holes.
        #expect(try FileManager.default.attributesOfItem(atPath: diff)[.size] as? Int == 64 << 20)
        let rebase = try SwiftletProcess.run(["snapshot-rebase", "--base-file", base, "--diff-file", diff])
        #expect(rebase.status == 0, "\(rebase.stderr)")
        #expect(FileManager.default.contentsEqual(atPath: base, andPath: full), "the rebased base differs from the full snapshot")
    }

    /// A VM restored with `track_dirty_pages` logs from the load on: its Diff, rebased onto the
    /// memory file it was loaded from, equals a Full taken at the same pause.
    @Test func aRestoredVMTracksDirtyPagesWhenAsked() throws {
        // Its own directory: each RunningSwiftlet removes its own when released.
        let files = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-restored-dirty-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: files) }
        let loaded = files.appendingPathComponent("loaded.mem").path, loadedState = files.appendingPathComponent("loaded.state").path
        let first = try RunningSwiftlet(["--kernel", try TestGuest.path(), "--cmdline", "test=count", "--memory", "64"], name: "origin")
        try waitUntil(timeout: 20, "the guest to count") { first.counts.count >= 2 }
        #expect(try first.curl("PATCH", "/vm", #"{"state": "Paused"}"#).status == 204)
        let origin = try first.curl("PUT", "/snapshot/create", #"{"snapshot_path": "\#(loadedState)", "mem_file_path": "\#(loaded)"}"#)
        #expect(origin.status == 204, "\(origin.body)")
        _ = first.stop()

        let vm = try RunningSwiftlet([], name: "restored-dirty")
        let load = try vm.curl(
            "PUT", "/snapshot/load",
            #"{"snapshot_path": "\#(loadedState)", "mem_file_path": "\#(loaded)", "track_dirty_pages": true, "resume_vm": true}"#)
        if load.status == 400 {
            #expect(load.body.contains(Self.unavailable), "\(load.body)")
            _ = vm.stop()
            return
        }
        #expect(load.status == 204, "\(load.body)")
        try waitUntil(timeout: 20, "the restored guest to count on") { vm.counts.count >= 3 }
        let diff = vm.file("diff.mem"), full = vm.file("full.mem")
        try pauseThenDiffAndFull(vm, diff: diff, full: full)

        let diffSize = try allocated(diff)
        #expect(diffSize > 0 && diffSize < 64 << 20, "diff \(diffSize) bytes")
        // The file the VM was loaded from is the diff's base; it must not have changed.
        let base = vm.file("base.mem")
        try FileManager.default.copyItem(atPath: loaded, toPath: base)
        let rebase = try SwiftletProcess.run(["snapshot-rebase", "--base-file", base, "--diff-file", diff])
        #expect(rebase.status == 0, "\(rebase.stderr)")
        #expect(FileManager.default.contentsEqual(atPath: base, andPath: full), "the rebased load file differs from the full snapshot")
        #expect(!FileManager.default.contentsEqual(atPath: loaded, andPath: full), "the guest changed nothing after the load")
    }

    @Test func aDiffWithoutTrackingIsRefused() throws {
        let vm = try RunningSwiftlet(["--kernel", try TestGuest.path(), "--cmdline", "test=count"])
        try waitUntil(timeout: 20, "the guest to count") { vm.counts.count >= 1 }
        #expect(try vm.curl("PATCH", "/vm", #"{"state": "Paused"}"#).status == 204)
        let create = try vm.curl(
            "PUT", "/snapshot/create", #"{"snapshot_type": "Diff", "snapshot_path": "\#(vm.file("s"))", "mem_file_path": "\#(vm.file("m"))"}"#)
        #expect(create.status == 400)
        #expect(create.body.contains("dirty page tracking disabled"), "\(create.body)")
        #expect(!FileManager.default.fileExists(atPath: vm.file("m")))
    }

    @Test func snapshotRebaseExplainsMissingFiles() throws {
        let result = try SwiftletProcess.run(["snapshot-rebase", "--base-file", "/nonexistent/base", "--diff-file", "/nonexistent/diff"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot open the base memory file: open /nonexistent/base: No such file or directory"), "\(result.stderr)")
    }
}
