/// A legacy interrupt line (a GSI on the in-kernel PIC/IOAPIC), driven as a level.
///
/// A line belongs to one device, which calls `setLevel` with its own lock held (the level is
/// computed from the state that lock guards, so only under it is the order of calls the order
/// of the states): implementations may rely on calls never overlapping.
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
