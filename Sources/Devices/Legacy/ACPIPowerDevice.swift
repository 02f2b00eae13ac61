/// The hardware-reduced ACPI power registers the FADT points at: three consecutive one-byte
/// ports (sleep control, sleep status, reset). Writing S5 to sleep control powers the machine
/// off; writing the reset value to the reset register resets it. Nothing else has an effect.
///
/// The device knows only the register layout; what a sleep-control value means and which value
/// resets come from the tables' builder (X86Boot's `ACPIPowerRegisters`), passed in by the
/// machine, so the tables and the device cannot disagree.
public final class ACPIPowerDevice: BusDevice {
    public enum Event: Sendable, Equatable {
        case powerOff
        case reset
    }

    /// Offsets from the base port.
    public enum Register {
        public static let sleepControl: UInt64 = 0
        public static let sleepStatus: UInt64 = 1
        public static let reset: UInt64 = 2
        public static let count: UInt64 = 3
    }

    private let isPowerOffRequest: @Sendable (UInt8) -> Bool
    private let resetValue: UInt8
    private let onEvent: @Sendable (Event) -> Void

    /// - Parameters:
    ///   - isPowerOffRequest: whether a byte written to sleep control asks for S5.
    ///   - resetValue: the FADT's RESET_VALUE.
    ///   - onEvent: called on the vCPU thread that wrote the register.
    public init(isPowerOffRequest: @escaping @Sendable (UInt8) -> Bool, resetValue: UInt8, onEvent: @escaping @Sendable (Event) -> Void) {
        self.isPowerOffRequest = isPowerOffRequest
        self.resetValue = resetValue
        self.onEvent = onEvent
    }

    /// Sleep status reads 0 (no wake event pending); the other registers are write-only.
    public func read(offset: UInt64, data: UnsafeMutableRawBufferPointer) {
        data.storeLittleEndian(UInt64(0))
    }

    public func write(offset: UInt64, data: UnsafeRawBufferPointer) {
        // Each register is one byte: a wider access reaches only its first byte's register.
        guard let value = data.first else { return }
        switch offset {
        case Register.sleepControl where isPowerOffRequest(value): onEvent(.powerOff)
        case Register.reset where value == resetValue: onEvent(.reset)
        default: break  // WAK_STS clears, other sleep states: nothing to do
        }
    }
}
