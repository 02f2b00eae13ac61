import Devices
import KVM
import Logging
import Synchronization

/// A GSI of the in-kernel PIC/IOAPIC, driven with `KVM_IRQ_LINE`. Only level changes reach
/// the kernel, so a device may report its level after every register access cheaply: the
/// common call, with the level unchanged, is one atomic exchange.
///
/// No lock of its own: the calls come serialized by the one device that owns the line
/// (`InterruptLine`), so the `KVM_IRQ_LINE`s they make follow one another in that order and
/// the kernel's level ends as the last call left it. A lock here could not order calls the
/// device did not, as a level computed outside the device's lock may already be stale.
final class KVMInterruptLine: InterruptLine {
    private let vm: VirtualMachine
    private let gsi: UInt32
    /// The level last sent to the kernel (or about to be, by the call that changed it).
    private let level = Atomic(false)
    private let logger: Logger

    init(vm: VirtualMachine, gsi: UInt32, logger: Logger) {
        self.vm = vm
        self.gsi = gsi
        self.logger = logger
    }

    func setLevel(_ asserted: Bool) {
        guard level.exchange(asserted, ordering: .relaxed) != asserted else { return }
        do { try vm.setIRQLine(gsi, level: asserted) } catch { logger.error("IRQ \(gsi): \(error)") }
    }
}

/// Delivers MSI-X messages with `KVM_SIGNAL_MSI`, which needs no routing table (setting one
/// with KVM_SET_GSI_ROUTING would replace the default PIC/IOAPIC routes).
final class KVMMSISender: MSISender {
    private let vm: VirtualMachine
    private let logger: Logger

    init(vm: VirtualMachine, logger: Logger) {
        self.vm = vm
        self.logger = logger
    }

    func signalMSI(address: UInt64, data: UInt32) {
        do { try vm.signalMSI(address: address, data: data) } catch { logger.error("MSI 0x\(String(address, radix: 16)): \(error)") }
    }
}
