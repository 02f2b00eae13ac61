import ArgumentParser
import Logging

extension Logger.Level: @retroactive ExpressibleByArgument {}

enum SwiftletLogging {
    /// Logs go to stderr so that stdout carries only the guest console.
    static func bootstrap(level: Logger.Level) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "swiftlet")
        logger.logLevel = level
        return logger
    }
}
