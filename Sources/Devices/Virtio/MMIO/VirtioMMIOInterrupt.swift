import Synchronization

/// virtio-mmio's one interrupt: the line is asserted exactly while the interrupt status
/// register has a bit set, so it drops when the driver acknowledges (or resets) and rises
/// again with the next used buffer or configuration change.
///
/// Works for an edge- or a level-triggered pin: each rise after an acknowledgement is a new
/// edge, and a level line never stays up with nothing to acknowledge (which would storm).
final class VirtioMMIOInterrupt: VirtioInterrupt {
    private let line: any InterruptLine
    /// Reads the interrupt status; set once the core exists. The level is read and set under
    /// this lock, so the last update always reflects the latest status, whichever thread
    /// (a vCPU acknowledging, the device's queue raising) gets here last.
    private let status = Mutex<(@Sendable () -> UInt8)?>(nil)

    init(line: any InterruptLine) {
        self.line = line
    }

    func follow(_ core: VirtioDeviceCore) {
        // Weak: the core holds this interrupt.
        status.withLock { $0 = { [weak core] in core?.readRegisters { $0.isr } ?? 0 } }
    }

    /// The core already set the status bit; there is no vector to choose.
    func raise(vector: UInt16) { update() }

    func update() {
        status.withLock { read in line.setLevel((read?() ?? 0) != 0) }
    }
}
