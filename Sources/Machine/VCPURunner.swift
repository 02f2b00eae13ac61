import CKVM
import Devices
import Dispatch
import KVM
import Logging

/// Runs one vCPU on its own serial DispatchQueue: `KVM_RUN`, then route the exit to the
/// port or MMIO bus, or decide that the VM must stop.
///
/// The queue's worker thread is recorded by the vCPU (`bindToCurrentThread`) so that
/// pause and stop can kick it out of `KVM_RUN` with a signal.
final class VCPURunner: Sendable {
    let vcpu: VCPU
    private let queue: DispatchQueue
    private let portBus: Bus
    private let mmioBus: Bus
    private let control: RunControl
    private let logger: Logger

    init(vcpu: VCPU, portBus: Bus, mmioBus: Bus, control: RunControl, logger: Logger) {
        self.vcpu = vcpu
        self.portBus = portBus
        self.mmioBus = mmioBus
        self.control = control
        self.logger = logger
        queue = DispatchQueue(label: "swiftlet.vcpu\(vcpu.id)", qos: .userInitiated)
    }

    func start() {
        queue.async { [self] in
            vcpu.bindToCurrentThread()
            runLoop()
            control.vcpuExited()
        }
    }

    private func runLoop() {
        while control.checkpoint() {
            do {
                guard try vcpu.runOnce() else { continue }  // kicked: re-check pause/stop
                if let reason = handleExit() {
                    control.stop(reason)
                    return
                }
            } catch {
                control.stop(.failure(error.description))
                return
            }
        }
    }

    /// Handles the exit described in `kvm_run`; returns a reason when the VM must stop.
    private func handleExit() -> StopReason? {
        let run = vcpu.run
        switch Int32(bitPattern: run.pointee.exit_reason) {
        case KVM_EXIT_IO:
            handlePortIO(run)
            return nil
        case KVM_EXIT_MMIO:
            handleMMIO(run)
            return nil
        case KVM_EXIT_HLT:
            return .guestShutdown("vCPU \(vcpu.id) halted")
        case KVM_EXIT_SHUTDOWN:
            return .guestShutdown("vCPU \(vcpu.id) shut down (triple fault or reset)")
        case KVM_EXIT_SYSTEM_EVENT:
            return systemEvent(run.pointee.system_event.type)
        case KVM_EXIT_INTERNAL_ERROR:
            let suberror = run.pointee.internal.suberror
            return .failure("KVM internal error on vCPU \(vcpu.id), suberror \(suberror)\(registerSummary())")
        case KVM_EXIT_FAIL_ENTRY:
            let reason = run.pointee.fail_entry.hardware_entry_failure_reason
            return .failure("vCPU \(vcpu.id) failed to enter the guest (hardware reason 0x\(String(reason, radix: 16)))")
        case KVM_EXIT_INTR:
            return nil
        default:
            return .failure("vCPU \(vcpu.id): unhandled exit reason \(run.pointee.exit_reason)")
        }
    }

    private func systemEvent(_ type: UInt32) -> StopReason {
        switch Int32(type) {
        case KVM_SYSTEM_EVENT_RESET: return .guestReset("KVM reset event")
        case KVM_SYSTEM_EVENT_SHUTDOWN: return .guestShutdown("KVM shutdown event")
        case KVM_SYSTEM_EVENT_CRASH: return .failure("guest crashed (KVM crash event)")
        default: return .guestShutdown("KVM system event \(type)")
        }
    }

    private func handlePortIO(_ run: UnsafeMutablePointer<kvm_run>) {
        let io = run.pointee.io
        let size = Int(io.size)
        let count = Int(io.count)
        // The kernel fills these, but a bad value must not make us touch memory past kvm_run.
        guard [1, 2, 4].contains(size), count > 0, Int(io.data_offset) + size * count <= vcpu.mmapSize else {
            logger.warning("vCPU \(vcpu.id): malformed port I/O exit ignored")
            return
        }
        let base = ckvm_run_io_data(run)!
        for index in 0..<count {
            let data = UnsafeMutableRawBufferPointer(start: base + index * size, count: size)
            if io.direction == UInt8(KVM_EXIT_IO_OUT) {
                portBus.write(address: UInt64(io.port), data: UnsafeRawBufferPointer(data))
            } else {
                portBus.read(address: UInt64(io.port), data: data)
            }
        }
    }

    private func handleMMIO(_ run: UnsafeMutablePointer<kvm_run>) {
        let length = Int(run.pointee.mmio.len)
        guard (1...8).contains(length) else { return }
        let address = run.pointee.mmio.phys_addr
        let isWrite = run.pointee.mmio.is_write != 0
        withUnsafeMutableBytes(of: &run.pointee.mmio.data) { bytes in
            let data = UnsafeMutableRawBufferPointer(rebasing: bytes[0..<length])
            if isWrite {
                mmioBus.write(address: address, data: UnsafeRawBufferPointer(data))
            } else {
                mmioBus.read(address: address, data: data)
            }
        }
    }

    private func registerSummary() -> String {
        guard let regs = try? vcpu.registers() else { return "" }
        return " at rip 0x\(String(regs.rip, radix: 16))"
    }
}
