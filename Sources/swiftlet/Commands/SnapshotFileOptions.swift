import ArgumentParser

/// The two files of a snapshot, as `swiftlet snapshot` writes them and `swiftlet restore`
/// reads them back. Relative paths are resolved here: the VMM may run in another directory.
struct SnapshotFileOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The vCPU and device state file.", valueName: "file"))
    var state: String

    @Option(name: .customLong("mem-file"), help: ArgumentHelp("The guest memory file (as large as the VM's RAM).", valueName: "file"))
    var memoryFile: String?

    @Option(name: .customLong("mem"), help: ArgumentHelp("Old name of --mem-file.", visibility: .hidden))
    var oldMemoryFile: String?

    mutating func validate() throws {
        memoryFile = try RenamedOption.resolve(memoryFile, name: "--mem-file", oldValue: oldMemoryFile, oldName: "--mem")
        guard memoryFile != nil else { throw ValidationError("Missing expected argument '--mem-file <file>'") }
        guard statePath != memoryPath else { throw ValidationError("--state and --mem-file must be different files.") }
    }

    var statePath: String { ClientSupport.absolutePath(state) }
    /// Valid after `validate()`, which makes sure the file was named.
    var memoryPath: String { ClientSupport.absolutePath(memoryFile ?? "") }
}
