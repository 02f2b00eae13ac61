/// Why an ACPI table, an AML term or the MP table cannot be built from the values given.
///
/// The builders are pure functions of the machine's shape (vCPU count, windows, devices); a
/// value they cannot describe is reported, never truncated into a table the guest would
/// misread, and never a trap.
public struct FirmwareTableError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What was being encoded ("AML name segment", "PCI MMIO window", "vCPU count").
    public var subject: String
    public var problem: String

    public init(_ subject: String, _ problem: String) {
        self.subject = subject
        self.problem = problem
    }

    public var description: String { "\(subject): \(problem)" }
}
