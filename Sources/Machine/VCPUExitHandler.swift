import KVM
import Logging

/// What a vCPU thread does after handling an exit.
enum ExitAction: Equatable {
    /// Enter the guest again.
    case resume
    /// The VM must stop, for this reason.
    case stop(StopReason)
}

/// All of vCPU exit handling: a decoded exit goes to the port or MMIO bus, or becomes the
/// reason the VM stops. It depends only on the exit and the buses, so tests drive it with
/// synthetic exits and fake buses, without KVM.
struct VCPUExitHandler: Sendable {
    let vcpuID: Int
    let portBus: any ExitBus
    let mmioBus: any ExitBus
    let logger: Logger
    /// Counts every exit for the metrics; nil where nobody reads them (tests).
    var exitCounters: VCPUExitCounters? = nil
    /// Where the vCPU stopped (" at rip 0x…"), for failure reports; asked only when one is made.
    let location: @Sendable () -> String

    func handle(_ exit: VCPUExit) -> ExitAction {
        exitCounters?.record(exit)
        switch exit {
        case .portIO(let access):
            portIO(access)
            return .resume
        case .mmio(let access):
            if access.isWrite {
                mmioBus.write(address: access.address, data: UnsafeRawBufferPointer(access.data))
            } else {
                mmioBus.read(address: access.address, data: access.data)
            }
            return .resume
        case .halt:
            return .stop(.guestPowerOff("vCPU \(vcpuID) halted"))
        case .shutdown:
            return .stop(.guestFault("vCPU \(vcpuID) shut down: triple fault\(location())"))
        case .systemEvent(let event):
            return .stop(stopReason(for: event))
        case .internalError(let suberror):
            return .stop(.vmmFailure("KVM internal error on vCPU \(vcpuID), suberror \(suberror)\(location())"))
        case .failedEntry(let reason):
            return .stop(.vmmFailure("vCPU \(vcpuID) failed to enter the guest (hardware reason 0x\(String(reason, radix: 16)))"))
        case .interrupted:
            return .resume
        case .malformed(let reason):
            // Ignoring the access is what hardware does with one that cannot happen.
            logger.warning("vCPU \(vcpuID): malformed exit ignored (\(reason))")
            return .resume
        case .unknown(let reason):
            return .stop(.vmmFailure("vCPU \(vcpuID): unhandled exit reason \(reason)"))
        }
    }

    /// A `rep ins/outs` is `count` accesses to the same port, each with its own data.
    private func portIO(_ access: VCPUExit.PortIO) {
        let port = UInt64(access.port)
        for index in 0..<access.count {
            let element = access.element(index)
            switch access.direction {
            case .write: portBus.write(address: port, data: UnsafeRawBufferPointer(element))
            case .read: portBus.read(address: port, data: element)
            }
        }
    }

    private func stopReason(for event: VCPUExit.SystemEvent) -> StopReason {
        switch event {
        case .reset: return .guestReset("KVM reset event")
        case .shutdown: return .guestPowerOff("KVM shutdown event")
        case .crash: return .guestFault("guest crashed (KVM crash event)")
        case .other(let type): return .vmmFailure("unknown KVM system event \(type)")
        }
    }
}
