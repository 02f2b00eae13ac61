import ArgumentParser
import Logging
import SwiftletCore
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

extension Logger.Level: @retroactive ExpressibleByArgument {}

enum SwiftletLogging {
    /// Logs go to stderr, so that stdout carries only the guest console, or to `logFile`.
    static func bootstrap(level: Logger.Level, logFile: LogFile? = nil) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = logFile.map { StreamLogHandler(label: label, stream: $0) } ?? StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "swiftlet")
        logger.logLevel = level
        return logger
    }
}

/// `--log-path FILE`: the log, appended to a file (or a FIFO a collector reads), one write per
/// line so that lines from different threads never interleave.
struct LogFile: TextOutputStream, Sendable {
    let descriptor: FileDescriptor

    static func open(_ path: String) throws(SystemError) -> LogFile {
        let raw = try systemCall("open", path: path) { Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644) }
        return LogFile(descriptor: FileDescriptor(rawValue: raw))
    }

    /// A full disk or a vanished reader must not stop the VM; the log line is lost instead.
    mutating func write(_ string: String) {
        Array(string.utf8).withUnsafeBytes { bytes in
            try? HostFile.write(descriptor, bytes)
        }
    }
}
