import ControlAPI
import Dispatch
import FoundationEssentials
import Synchronization
import SwiftletCore

/// Firecracker's metrics: once `PUT /metrics` (or `--metrics-path`, or a config file) names a
/// file, one JSON line every minute, on `FlushMetrics`, and when Swiftlet ends. Like
/// Firecracker's, every counter in a line is what happened since the previous line, so a
/// collector sums lines instead of differencing them.
final class MetricsReporter: Sendable {
    /// Firecracker's period.
    static let interval: DispatchTimeInterval = .seconds(60)

    private struct State {
        var file: LogFile?
        var path: String?
        /// The totals the previous line was computed from.
        var reported: [String: [String: UInt64]] = [:]
        var timer: (any DispatchSourceTimer)?
    }

    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "swiftlet.metrics")
    /// Every counter's total so far, by group (`FirecrackerMetrics.totals`).
    private let totals: @Sendable () -> [String: [String: UInt64]]
    private let interval: DispatchTimeInterval

    init(interval: DispatchTimeInterval = MetricsReporter.interval, totals: @escaping @Sendable () -> [String: [String: UInt64]]) {
        self.interval = interval
        self.totals = totals
    }

    /// The file metrics go to, once configured.
    var path: String? { state.withLock { $0.path } }

    /// Opens `path` and starts the periodic lines. Once only, as in Firecracker: a launcher
    /// that configures metrics twice has a bug worth reporting.
    func configure(path: String) throws {
        try state.withLock { state in
            guard state.file == nil else { throw VMMError("Reinitialization of metrics not allowed.") }
            do {
                state.file = try LogFile.open(path)
            } catch {
                throw VMMError("Cannot open the metrics file: \(error)")
            }
            state.path = path
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.schedule(deadline: .now() + interval, repeating: interval)
            timer.setEventHandler { [weak self] in self?.flush() }
            timer.resume()
            state.timer = timer
        }
    }

    /// Writes one line now (nothing when no file is configured).
    func flush() {
        let current = totals()
        state.withLock { state in
            guard var file = state.file else { return }
            let line = Self.line(totals: current, previous: state.reported, timestampMilliseconds: Self.nowMilliseconds())
            state.reported = current
            file.write(line + "\n")
        }
    }

    /// One metrics line: the timestamp first (as in Firecracker's lines), then every group, in
    /// name order, with each counter's increase since `previous`.
    static func line(totals: [String: [String: UInt64]], previous: [String: [String: UInt64]], timestampMilliseconds: Int64) -> String {
        var members: [String: JSONValue] = [:]
        for (group, counters) in totals {
            var values: [String: JSONValue] = [:]
            for (name, total) in counters {
                let before = previous[group]?[name] ?? 0
                // A device that was replaced (a restore) starts again from zero.
                let increase = total >= before ? total - before : total
                values[name] = .integer(Int64(clamping: increase))
            }
            members[group] = .object(values)
        }
        let groups = JSONValue.object(members).serialized().dropFirst()
        return "{\"utc_timestamp_ms\":\(timestampMilliseconds)" + (members.isEmpty ? "" : ",") + groups
    }

    private static func nowMilliseconds() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1000)
    }
}
