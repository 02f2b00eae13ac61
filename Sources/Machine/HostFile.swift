import Foundation

/// Reads whole host files (kernel, initrd) with errors that say what is wrong with the path.
enum HostFile {
    static func readAll(_ path: String, what: String, limit: Int = 1 << 30) throws(MachineError) -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw MachineError.fileUnreadable(path: path, reason: "\(what) file does not exist")
        }
        guard !isDirectory.boolValue else {
            throw MachineError.fileUnreadable(path: path, reason: "\(what) path is a directory, not a file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw MachineError.fileUnreadable(path: path, reason: "\(what) file cannot be opened (permission denied?)")
        }
        defer { try? handle.close() }
        do {
            let size = try handle.seekToEnd()
            guard size <= UInt64(limit) else {
                throw MachineError.fileUnreadable(path: path, reason: "\(what) file is larger than \(limit >> 20) MiB")
            }
            try handle.seek(toOffset: 0)
            return [UInt8](try handle.readToEnd() ?? Data())
        } catch let error as MachineError {
            throw error
        } catch {
            throw MachineError.fileUnreadable(path: path, reason: "reading \(what) failed: \(error.localizedDescription)")
        }
    }
}
