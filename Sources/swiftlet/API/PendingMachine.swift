import FoundationEssentials
import SwiftletCore
import Machine

/// The VM of a `swiftlet run` process, before and after it exists: a one-shot hand-over from
/// whoever creates the VM (the command line, or the control API's InstanceStart or snapshot
/// load) to the threads that wait for it (the main thread, the console).
///
/// A stop request (a signal, the console escape) reaches the VM if there is one; before that
/// it cancels the wait, so Swiftlet can quit while it still waits for its configuration.
///
/// - Note: `@unchecked Sendable` because every field is guarded by `condition`.
final class PendingMachine: @unchecked Sendable {
    enum Outcome {
        case started(Machine)
        /// Stopped before any VM existed.
        case cancelled(StopReason)
    }

    private let condition = ConditionLock()
    private var machine: Machine?
    private var cancellation: StopReason?

    func fulfill(_ machine: Machine) {
        condition.lock()
        defer { condition.unlock() }
        self.machine = machine
        condition.broadcast()
    }

    /// The VM, once it exists.
    var current: Machine? {
        condition.lock()
        defer { condition.unlock() }
        return machine
    }

    /// Stops the VM if it exists, and otherwise ends every wait with `reason`.
    func stop(_ reason: StopReason) {
        condition.lock()
        guard let machine else {
            cancellation = reason
            condition.broadcast()
            condition.unlock()
            return
        }
        condition.unlock()
        machine.requestStop(reason)
    }

    /// The outcome so far, without waiting: nil while there is neither a VM nor a cancellation.
    var outcome: Outcome? {
        condition.lock()
        defer { condition.unlock() }
        return currentOutcome
    }

    /// Blocks until a VM exists or the wait is cancelled.
    func wait() -> Outcome {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let outcome = currentOutcome { return outcome }
            condition.wait()
        }
    }

    /// A cancellation wins over a VM fulfilled after it: the user asked to quit first.
    private var currentOutcome: Outcome? {
        if let cancellation { return .cancelled(cancellation) }
        return machine.map(Outcome.started)
    }
}
