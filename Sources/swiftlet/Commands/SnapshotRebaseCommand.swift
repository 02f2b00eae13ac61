import ArgumentParser
import Machine

/// `swiftlet snapshot-rebase`: Firecracker's rebase-snap, merging a diff memory file onto its base.
struct SnapshotRebaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot-rebase",
        abstract: "Merge a Diff snapshot's memory file onto the memory file of its base snapshot.",
        discussion: """
            Copies every data extent of --diff-file (the pages the guest wrote since the \
            previous snapshot) onto --base-file at the same offset, in place. Afterwards \
            --base-file equals a Full snapshot taken at the Diff's moment: restore it together \
            with the Diff's state file. Apply a chain of diffs oldest first. The diff must sit \
            on a file system that keeps holes (ext4, xfs, btrfs, tmpfs).
            """)

    @Option(name: .customLong("base-file"), help: "The base memory file, updated in place.")
    var baseFile: String

    @Option(name: .customLong("diff-file"), help: "The Diff snapshot's memory file.")
    var diffFile: String

    func run() throws {
        do {
            let result = try SnapshotRebase.rebase(baseFile: baseFile, diffFile: diffFile)
            print("Merged \(result.bytesCopied) bytes in \(result.extents) extents from \(diffFile) onto \(baseFile).")
        } catch {
            ClientSupport.fail("snapshot-rebase: \(error)")
        }
    }
}
