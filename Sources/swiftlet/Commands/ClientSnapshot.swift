import ArgumentParser
import ControlAPI
import SwiftletCore

/// `swiftlet snapshot`: pause if needed, PUT /snapshot/create, resume if it was running.
struct ClientSnapshot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Save a running or paused VM to a state file and a memory file.",
        discussion: """
            A snapshot needs a paused VM. If the VM is running, this command pauses it, \
            writes the snapshot, and resumes it (also when writing failed), unless \
            --leave-paused is given. A VM that was already paused stays paused. Disk images \
            are not copied: keep them unchanged until you restore.

            Both files are written atomically (a temporary file, fsync, rename): an existing \
            file is replaced only by a complete snapshot. They are created with mode 0600.

            Relative paths are taken relative to the current directory. Restore with \
            `swiftlet restore` into a fresh `swiftlet run --api-sock` process.
            """)

    @OptionGroup var connection: ClientConnectionOptions

    @OptionGroup var files: SnapshotFileOptions

    @Flag(help: "Leave the VM paused after the snapshot even if it was running before.")
    var leavePaused = false

    @Option(
        help: ArgumentHelp("Give up if writing the snapshot takes longer than this many seconds.", valueName: "seconds"),
        transform: ClientSupport.seconds)
    var snapshotTimeout: Int = 600

    func run() throws {
        try ClientSupport.run {
            let client = connection.client

            let wasRunning: Bool
            switch try ClientSupport.instanceState(client) {
            case "Running": wasRunning = true
            case "Paused": wasRunning = false
            case let other: throw ClientFailure("Cannot snapshot: the VM is \(other.lowercased()); start or restore it first.")
            }
            if wasRunning {
                try ClientSupport.setState(client, to: "Paused")
            }
            var writer = client
            writer.timeout = .seconds(snapshotTimeout)
            let request = JSONValue.object([
                "snapshot_type": .string("Full"), "snapshot_path": .string(files.statePath), "mem_file_path": .string(files.memoryPath),
            ])
            let outcome = Result { () throws(APIClientError) in
                _ = try writer.checked(method: "PUT", path: "/snapshot/create", json: request)
            }
            if wasRunning && !leavePaused {
                do {
                    try ClientSupport.setState(client, to: "Resumed")
                } catch {
                    // Report both: the snapshot result matters, and so does a VM left paused.
                    let snapshotNote = (try? outcome.get()) != nil ? "The snapshot was written, but" : "The snapshot failed, and"
                    throw ClientFailure("\(snapshotNote) resuming the VM failed: \(error)")
                }
            }
            try outcome.get()
            let after = wasRunning && !leavePaused ? "the VM was resumed" : "the VM is paused"
            print("Snapshot written: state \(files.statePath), memory \(files.memoryPath); \(after).")
        }
    }
}
