import SwiftletCore
import SystemPackage

/// What Swiftlet says about itself on stderr, in one style: "swiftlet: error: ..." for a
/// failure, "swiftlet: warning: ..." for something the user should change, and "swiftlet: ..."
/// for a plain note (why the VM stopped). ArgumentParser's own errors use the same prefix
/// (`Swiftlet._errorPrefix`). Logs are separate: they go through swift-log.
enum Diagnostics {
    static let errorPrefix = "swiftlet: error: "
    static let warningPrefix = "swiftlet: warning: "
    static let notePrefix = "swiftlet: "

    static func error(_ message: String) { print(errorPrefix + message) }
    static func warning(_ message: String) { print(warningPrefix + message) }
    static func note(_ message: String) { print(notePrefix + message) }

    /// One write per line, so lines from different threads never interleave mid-line. A
    /// closed stderr is not worth failing over.
    private static func print(_ line: String) {
        Array((line + "\n").utf8).withUnsafeBytes { bytes in
            try? HostFile.write(FileDescriptor.standardError, bytes)
        }
    }
}
