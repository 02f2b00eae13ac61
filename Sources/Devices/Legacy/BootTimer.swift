#if canImport(Glibc)
import Glibc
#endif

/// Firecracker's boot-timer pseudo device: a guest that writes the byte 123 at offset 0 of
/// its page (an init program, through /dev/mem) has Swiftlet report how long the VM took to
/// get there since Swiftlet started, on the same clocks Firecracker reports: wall time on the
/// monotonic clock and this process's CPU time. Any other access does nothing.
public final class BootTimer: BusDevice {
    /// The byte that signals "boot complete", as in Firecracker.
    public static let bootCompleteValue: UInt8 = 123

    /// A moment on both clocks, in microseconds.
    public struct Instant: Sendable, Equatable {
        public var monotonicMicroseconds: UInt64
        public var cpuMicroseconds: UInt64

        public init(monotonicMicroseconds: UInt64, cpuMicroseconds: UInt64) {
            self.monotonicMicroseconds = monotonicMicroseconds
            self.cpuMicroseconds = cpuMicroseconds
        }

        public static func now() -> Instant {
            Instant(monotonicMicroseconds: microseconds(CLOCK_MONOTONIC), cpuMicroseconds: microseconds(CLOCK_PROCESS_CPUTIME_ID))
        }

        private static func microseconds(_ clock: clockid_t) -> UInt64 {
            var time = timespec()
            clock_gettime(clock, &time)
            return UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec) / 1000
        }
    }

    /// How long the boot took, as reported.
    public struct BootTime: Sendable, Equatable {
        public var wallMicroseconds: UInt64
        public var cpuMicroseconds: UInt64

        /// The line Firecracker logs, which boot-time tooling searches for ("Guest-boot-time = N us").
        public var logLine: String {
            "Guest-boot-time = \(wallMicroseconds) us \(wallMicroseconds / 1000) ms, \(cpuMicroseconds) CPU us \(cpuMicroseconds / 1000) CPU ms"
        }
    }

    private let start: Instant
    private let now: @Sendable () -> Instant
    private let report: @Sendable (BootTime) -> Void

    /// `start` is when Swiftlet (or the jailer that started it) started; `report` gets each
    /// signal, on the vCPU thread that wrote it.
    public init(start: Instant, now: @escaping @Sendable () -> Instant = Instant.now, report: @escaping @Sendable (BootTime) -> Void) {
        self.start = start
        self.now = now
        self.report = report
    }

    public func read(offset: UInt64, data: UnsafeMutableRawBufferPointer) {
        data.fillWithZeros()
    }

    public func write(offset: UInt64, data: UnsafeRawBufferPointer) {
        guard offset == 0, data.count == 1, data[0] == Self.bootCompleteValue else { return }
        let current = now()
        // A start in the future (a wrong --start-time-us) reports zero rather than trapping.
        let wall = current.monotonicMicroseconds >= start.monotonicMicroseconds ? current.monotonicMicroseconds - start.monotonicMicroseconds : 0
        let cpu = current.cpuMicroseconds >= start.cpuMicroseconds ? current.cpuMicroseconds - start.cpuMicroseconds : 0
        report(BootTime(wallMicroseconds: wall, cpuMicroseconds: cpu))
    }
}
