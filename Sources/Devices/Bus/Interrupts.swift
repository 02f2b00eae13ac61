/// A legacy interrupt line (a GSI on the in-kernel PIC/IOAPIC), driven as a level.
public protocol InterruptLine: Sendable {
    func setLevel(_ asserted: Bool)
}

/// Delivers a message-signalled interrupt (an MSI-X table entry) to the guest.
public protocol MSISender: Sendable {
    func signalMSI(address: UInt64, data: UInt32)
}

/// An interrupt line that goes nowhere, for devices under test.
public struct DisconnectedInterruptLine: InterruptLine {
    public init() {}
    public func setLevel(_ asserted: Bool) {}
}
