import SwiftletCore

#if canImport(Glibc)
import Glibc
#endif

/// Refuses snapshot output paths that would destroy something: the state and memory files
/// being one file (the snapshot could never be loaded), or either one being a file the VM
/// reads (its disk would be replaced by guest RAM while the guest keeps writing the
/// unlinked image; its kernel would be gone for the next boot).
enum SnapshotOutputCheck {
    struct Input {
        let what: String
        let path: String
        let identity: FileIdentity?
    }

    static func check(statePath: String, memoryPath: String, inputs: [Input]) throws(SnapshotError) {
        if sameFile(statePath, memoryPath) {
            throw .overlappingPaths("the state file and the memory file are the same file (\(memoryPath))")
        }
        for (role, path) in [("state file", statePath), ("memory file", memoryPath)] {
            guard let output = FileIdentity(path: path) else { continue }
            for input in inputs where input.identity == output || FileIdentity(path: input.path) == output {
                throw .overlappingPaths("the \(role) \(path) is the VM's \(input.what) (\(input.path))")
            }
        }
    }

    /// Two paths name one file: the same inode if it exists, else the same place once the
    /// directory is resolved (the file is about to be created there).
    static func sameFile(_ first: String, _ second: String) -> Bool {
        if let a = FileIdentity(path: first), let b = FileIdentity(path: second) { return a == b }
        guard let a = resolvedLocation(first), let b = resolvedLocation(second) else { return first == second }
        return a == b
    }

    /// The directory's identity plus the last path component.
    private static func resolvedLocation(_ path: String) -> (FileIdentity, String)? {
        let (directory, name) = SnapshotFile.split(path)
        guard let identity = FileIdentity(path: directory) else { return nil }
        return (identity, name)
    }
}
