import ArgumentParser
import ControlAPI
import FoundationEssentials

/// `swiftlet restore`: PUT /snapshot/load into a fresh VMM.
struct ClientRestore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Load a snapshot into a fresh VMM started with `swiftlet run --api-sock`.",
        discussion: """
            Sends PUT /snapshot/load with the state and memory files written by \
            `swiftlet snapshot`. The VMM must be fresh: started with --api-sock and nothing \
            else configured (no kernel, drives or machine settings), as in Firecracker. The \
            disk images must be the ones the snapshot was taken with, at the same paths.

            The VM stays paused after loading unless --resume is given; resume it later with \
            `swiftlet resume`. Relative paths are taken relative to the current directory.
            """)

    @OptionGroup var connection: ClientConnectionOptions

    @OptionGroup var files: SnapshotFileOptions

    @Flag(help: "Resume the VM as soon as it is loaded.")
    var resume = false

    @Option(
        help: ArgumentHelp("Give up if loading takes longer than this many seconds.", valueName: "seconds"),
        transform: ClientSupport.seconds)
    var loadTimeout: Int = 600

    func run() throws {
        try ClientSupport.run {
            for (path, what) in [(files.statePath, "state file"), (files.memoryPath, "memory file")] {
                guard FileManager.default.isReadableFile(atPath: path) else {
                    throw ClientFailure("The \(what) \(path) does not exist or is not readable.")
                }
            }
            var client = connection.client
            client.timeout = .seconds(loadTimeout)
            _ = try client.checked(
                method: "PUT", path: "/snapshot/load",
                json: .object([
                    "snapshot_path": .string(files.statePath),
                    "mem_backend": .object(["backend_type": .string("File"), "backend_path": .string(files.memoryPath)]),
                    "resume_vm": .bool(resume),
                ]))
            print(resume ? "Restored and resumed." : "Restored; the VM is paused (run `swiftlet resume` to continue).")
        }
    }
}
