import KVM
import Synchronization

/// How many vCPU exits of each kind the VM took, for the metrics. Every vCPU thread counts
/// into the same counters on every exit, so they are relaxed atomics: no lock on the exit path.
public final class VCPUExitCounters: Sendable {
    /// The counts at one moment.
    public struct Counts: Sendable, Equatable {
        public var portIn: UInt64 = 0
        public var portOut: UInt64 = 0
        public var mmioRead: UInt64 = 0
        public var mmioWrite: UInt64 = 0
        /// Halt, shutdown and system events: the exits that end the VM normally.
        public var stops: UInt64 = 0
        /// Internal errors, failed entries and exits KVM reported that Swiftlet does not know.
        public var failures: UInt64 = 0
    }

    private let portIn = Atomic<UInt64>(0)
    private let portOut = Atomic<UInt64>(0)
    private let mmioRead = Atomic<UInt64>(0)
    private let mmioWrite = Atomic<UInt64>(0)
    private let stops = Atomic<UInt64>(0)
    private let failures = Atomic<UInt64>(0)

    public init() {}

    func record(_ exit: VCPUExit) {
        switch exit {
        case .portIO(let access):
            if access.direction == .write { portOut.wrappingAdd(1, ordering: .relaxed) } else { portIn.wrappingAdd(1, ordering: .relaxed) }
        case .mmio(let access):
            if access.isWrite { mmioWrite.wrappingAdd(1, ordering: .relaxed) } else { mmioRead.wrappingAdd(1, ordering: .relaxed) }
        case .halt, .shutdown, .systemEvent: stops.wrappingAdd(1, ordering: .relaxed)
        case .internalError, .failedEntry, .unknown: failures.wrappingAdd(1, ordering: .relaxed)
        case .interrupted, .malformed: break
        }
    }

    public var counts: Counts {
        Counts(
            portIn: portIn.load(ordering: .relaxed), portOut: portOut.load(ordering: .relaxed),
            mmioRead: mmioRead.load(ordering: .relaxed), mmioWrite: mmioWrite.load(ordering: .relaxed),
            stops: stops.load(ordering: .relaxed), failures: failures.load(ordering: .relaxed))
    }
}
