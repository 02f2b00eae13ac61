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

    init(vcpu: VCPU, portBus: Bus, mmioBus: Bus, control: RunControl, logger: Logger) {
        self.vcpu = vcpu
        self.control = control
        exitHandler = VCPUExitHandler(vcpuID: vcpu.id, portBus: portBus, mmioBus: mmioBus, logger: logger) { [vcpu] in
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

    private func runLoop() {
        while control.checkpoint() == .proceed {
            do {
                // Interrupted: a kick; the checkpoint says whether to pause or stop.
                guard try vcpu.runOnce() == .exited else { continue }
                if case .stop(let reason) = exitHandler.handle(vcpu.exit) {
                    control.stop(reason)
                    return
                }
            } catch {
                control.stop(.failure(error.description))
                return
            }
        }
    }
}
