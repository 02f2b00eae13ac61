import Devices
import Dispatch
import KVM
import Logging
import Sandbox

/// Runs one vCPU on its own serial DispatchQueue: `KVM_RUN`, then route the exit to the
/// port or MMIO bus, or decide that the VM must stop.
///
/// The queue's worker thread is recorded by the vCPU (`bindToCurrentThread`) so that
/// pause and stop can kick it out of `KVM_RUN` with a signal.
final class VCPURunner: Sendable {
    let vcpu: VCPU
    private let queue: DispatchQueue
    private let control: RunControl
    private let exitHandler: VCPUExitHandler

    init(vcpu: VCPU, portBus: Bus, mmioBus: Bus, control: RunControl, logger: Logger, exitCounters: VCPUExitCounters? = nil) {
        self.vcpu = vcpu
        self.control = control
        // Readers of its own: the exit handler runs only on this runner's queue.
        exitHandler = VCPUExitHandler(
            vcpuID: vcpu.id, portBus: portBus.reader(), mmioBus: mmioBus.reader(), logger: logger, exitCounters: exitCounters
        ) { [vcpu] in
            guard let regs = try? vcpu.registers() else { return "" }
            return " at rip 0x\(String(regs.rip, radix: 16))"
        }
        queue = DispatchQueue(label: "swiftlet.vcpu\(vcpu.id)", qos: .userInitiated)
    }

    func start() {
        queue.async { [self] in
            vcpu.bindToCurrentThread()
            // This Dispatch worker runs this loop until the VM stops, and the VMM process ends
            // with its VM, so the worker is a vCPU thread for good (docs/security.md, Seccomp).
            ThreadSandbox.narrowCurrentThread(to: .vcpu)
            runLoop()
            control.vcpuExited()
        }
    }

    /// The pause protocol's vCPU side (see `RunControl`): after an exit, straight back into
    /// `KVM_RUN`; the run control is consulted only before the first run and after a run a
    /// kick interrupted, when KVM has completed any pending access.
    private func runLoop() {
        guard control.checkpoint() == .proceed else { return }
        // A local copy: calling the stored property's method copied the whole handler (its
        // logger, buses and closure: a retain and release each) on every exit.
        let exitHandler = exitHandler
        while true {
            do {
                switch try vcpu.runOnce() {
                case .exited:
                    if case .stop(let reason) = exitHandler.handle(vcpu.exit) {
                        control.stop(reason)
                        return
                    }
                case .interrupted:
                    guard control.checkpoint() == .proceed else { return }
                }
            } catch {
                control.stop(.vmmFailure(error.description))
                return
            }
        }
    }
}
