import ArgumentParser
import ControlAPI
import Logging
import Synchronization
import SwiftletCore
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

extension Logger.Level: @retroactive ExpressibleByArgument {}

enum SwiftletLogging {
    /// Logs go to stderr, so that stdout carries only the guest console, or to `logFile`.
    /// The returned routing changes both later (`PUT /logger`), for every logger at once.
    static func bootstrap(level: Logger.Level, logFile: LogFile? = nil) -> (Logger, LogRouting) {
        let routing = LogRouting(level: level, file: logFile)
        LoggingSystem.bootstrap { label in RoutedLogHandler(label: label, routing: routing) }
        return (Logger(label: "swiftlet"), routing)
    }
}

/// Where the log goes and what goes into it, shared by every logger of the process so that
/// `PUT /logger` can redirect a log that is already in use.
final class LogRouting: Sendable {
    struct Settings: Sendable {
        var level: Logger.Level
        /// nil: stderr.
        var file: LogFile?
        var showOrigin = false
    }

    private let settings: Mutex<Settings>

    init(level: Logger.Level, file: LogFile?) {
        settings = Mutex(Settings(level: level, file: file))
    }

    var current: Settings { settings.withLock { $0 } }

    /// Applies `PUT /logger`: a new file (opened before anything changes, so a bad path
    /// leaves the log where it was), level and origin switch; absent fields stay as they are.
    /// The previous file stays open: another thread may be writing a line to it right now.
    func apply(_ configuration: LoggerConfig) throws(SystemError) {
        let file = try configuration.logPath.map { path throws(SystemError) in try LogFile.open(path) }
        settings.withLock { settings in
            if let file { settings.file = file }
            if let level = configuration.level { settings.level = level.swiftLogLevel }
            if let showOrigin = configuration.showLogOrigin { settings.showOrigin = showOrigin }
        }
    }
}

/// swift-log's stream format, written wherever `LogRouting` says at the moment of each line.
struct RoutedLogHandler: LogHandler {
    let label: String
    let routing: LogRouting
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The process-wide level: a logger cannot raise or lower its own, so `PUT /logger` reaches all.
    var logLevel: Logger.Level {
        get { routing.current.level }
        set {}
    }

    func log(event: LogEvent) {
        let settings = routing.current
        var event = event
        if settings.showOrigin {
            let file = event.file.split(separator: "/").last.map(String.init) ?? event.file
            event.message = "[\(file):\(event.line)] \(event.message)"
        }
        var handler = settings.file.map { StreamLogHandler(label: label, stream: $0) } ?? StreamLogHandler.standardError(label: label)
        handler.metadata = metadata
        handler.log(event: event)
    }
}

/// `--log-path FILE`: the log, appended to a file (or a FIFO a collector reads), one write per
/// line so that lines from different threads never interleave.
struct LogFile: TextOutputStream, Sendable {
    let descriptor: FileDescriptor

    /// Never blocks: a named pipe with no reader yet is opened read-write (as Firecracker
    /// does), so the open succeeds and lines wait in the pipe until the collector comes.
    static func open(_ path: String) throws(SystemError) -> LogFile {
        let flags = O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC
        let raw: Int32
        do {
            raw = try systemCall("open", path: path) { Glibc.open(path, O_WRONLY | flags, 0o644) }
        } catch where error.errno.rawValue == ENXIO {
            raw = try systemCall("open", path: path) { Glibc.open(path, O_RDWR | flags, 0o644) }
        }
        return LogFile(descriptor: FileDescriptor(rawValue: raw))
    }

    /// A full disk, a full pipe or a vanished reader must not stop the VM; the line is lost instead.
    mutating func write(_ string: String) {
        Array(string.utf8).withUnsafeBytes { bytes in
            try? HostFile.write(descriptor, bytes)
        }
    }
}

extension LogLevel {
    /// The swift-log level; Off keeps only what stops the VMM.
    var swiftLogLevel: Logger.Level {
        switch self {
        case .error: .error
        case .warning: .warning
        case .info: .info
        case .debug: .debug
        case .trace: .trace
        case .off: .critical
        }
    }
}
