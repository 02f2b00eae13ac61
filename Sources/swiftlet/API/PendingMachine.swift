import Foundation
import Machine

/// Hands the VM, once one exists, from whoever creates it (the command line or the control
/// API's InstanceStart / snapshot load) to the main thread that runs the console and waits.
///
/// - Note: `@unchecked Sendable` because every field is guarded by `condition`.
final class MachineSlot: @unchecked Sendable {
    private let condition = NSCondition()
    private var machine: Machine?
    private var cancelled: StopReason?

    func fill(_ machine: Machine) {
        condition.lock()
        defer { condition.unlock() }
        self.machine = machine
        condition.broadcast()
    }

    var current: Machine? {
        condition.lock()
        defer { condition.unlock() }
        return machine
    }

    /// Ends the wait without a machine (a signal arrived before any VM was started).
    func cancel(_ reason: StopReason) {
        condition.lock()
        defer { condition.unlock() }
        cancelled = reason
        condition.broadcast()
    }

    /// Blocks until a machine exists, or returns the reason the wait was cancelled.
    func wait() -> Result<Machine, StopReasonError> {
        condition.lock()
        defer { condition.unlock() }
        while machine == nil && cancelled == nil { condition.wait() }
        if let machine { return .success(machine) }
        return .failure(StopReasonError(reason: cancelled!))
    }
}

struct StopReasonError: Error {
    let reason: StopReason
}
