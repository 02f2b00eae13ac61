import FoundationEssentials
import SwiftletCore

/// Lifecycle of a VM as the control API reports it.
public enum MachineState: String, Sendable, Equatable {
    case notStarted = "Not started"
    case running = "Running"
    case paused = "Paused"
    case stopped = "Stopped"
}

/// The meeting point of the control thread and the vCPU threads: pause parks every vCPU
/// outside `KVM_RUN`, resume releases them, stop makes them return.
///
/// The protocol (see docs/architecture.md, "Pause and stop"):
/// - A vCPU handles an exit and enters `KVM_RUN` again without looking here: the common exit
///   path takes no lock.
/// - Pause and stop first change the state, then kick every vCPU (`kick`: `immediate_exit`
///   plus a signal). A vCPU that was handling an exit re-enters `KVM_RUN`, where KVM first
///   completes the pending I/O or MMIO access and then returns EINTR because of
///   `immediate_exit`; a vCPU in the guest (or halted, or waiting for SIPI) returns EINTR at
///   once. Only then, after an interrupted run, does it come here (`checkpoint`), so a parked
///   vCPU is always at an instruction boundary with no access half done.
/// - A stop requested from a vCPU thread (reset, power-off, triple fault) kicks all vCPUs the
///   same way, so none is left waiting in `KVM_RUN`.
///
/// - Note: `@unchecked Sendable` because every field is guarded by `condition`.
final class RunControl: @unchecked Sendable {
    private let condition = ConditionLock()
    private var state: MachineState
    private var parkedCount = 0
    private var runningVCPUs: Int
    private var stopReason: StopReason?
    /// Forces every vCPU out of `KVM_RUN`; called without the lock held.
    private let kick: @Sendable () -> Void

    init(vcpuCount: Int, startPaused: Bool, kick: @escaping @Sendable () -> Void) {
        runningVCPUs = vcpuCount
        state = startPaused ? .paused : .running
        self.kick = kick
    }

    var currentState: MachineState { condition.withLock { state } }

    // MARK: - vCPU side

    /// What a vCPU thread does after its checkpoint.
    enum Checkpoint: Equatable {
        /// Enter the guest again.
        case proceed
        /// The VM is stopping: end the thread.
        case stop
    }

    /// Called by a vCPU thread before its first `KVM_RUN` and after every interrupted one
    /// (never after a plain exit). Parks while paused.
    func checkpoint() -> Checkpoint {
        condition.withLock {
            if state == .paused {
                parkedCount += 1
                condition.broadcast()
                while state == .paused { condition.wait() }
                parkedCount -= 1
            }
            return state == .stopped ? .stop : .proceed
        }
    }

    /// Called once by each vCPU thread as it ends.
    func vcpuExited() {
        condition.withLock {
            runningVCPUs -= 1
            condition.broadcast()
        }
    }

    // MARK: - Control side

    /// Moves to paused, kicks every vCPU and waits until every live one is parked.
    func pause() throws(MachineError) {
        try condition.withLock { () throws(MachineError) in
            switch state {
            case .paused: return
            case .stopped: throw MachineError.invalidState("the VM has stopped")
            case .notStarted: throw MachineError.invalidState("the VM has not been started")
            case .running: state = .paused
            }
        }
        kick()
        condition.withLock {
            while parkedCount < runningVCPUs && state == .paused { condition.wait() }
        }
    }

    func resume() throws(MachineError) {
        try condition.withLock { () throws(MachineError) in
            switch state {
            case .running: return
            case .stopped: throw MachineError.invalidState("the VM has stopped")
            case .notStarted: throw MachineError.invalidState("the VM has not been started")
            case .paused:
                state = .running
                condition.broadcast()
            }
        }
    }

    /// Records the first reason to stop, wakes parked vCPUs and kicks running ones; later
    /// reasons are ignored. Safe to call from a vCPU thread.
    @discardableResult
    func stop(_ reason: StopReason) -> Bool {
        let first = condition.withLock {
            guard stopReason == nil else { return false }
            stopReason = reason
            state = .stopped
            condition.broadcast()
            return true
        }
        if first { kick() }
        return first
    }

    /// Blocks until the VM stops and all vCPU threads have ended, or until `grace` seconds
    /// after the stop if a vCPU thread does not come back (the process is about to exit, and a
    /// stuck thread must not keep it alive).
    func waitForStop(grace: Double = 5) -> StopReason {
        condition.withLock {
            while stopReason == nil { condition.wait() }
            let deadline = ConditionLock.deadline(after: grace)
            while runningVCPUs > 0 && condition.wait(until: deadline) {}
            return stopReason!
        }
    }

    /// Whether every vCPU is parked (a consistent point for snapshots).
    var isQuiescent: Bool {
        condition.withLock { state == .paused && parkedCount >= runningVCPUs }
    }
}
