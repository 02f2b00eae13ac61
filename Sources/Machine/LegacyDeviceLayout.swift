/// Where the legacy PC devices sit: the first port of each one's I/O range, and the ISA IRQ
/// (a GSI of the in-kernel PIC/IOAPIC) it raises.
enum LegacyDeviceLayout {
    static let com1: UInt64 = 0x3F8, com1IRQ: UInt32 = 4
    static let i8042: UInt64 = 0x60, i8042IRQ: UInt32 = 1
    static let cmos: UInt64 = 0x70
}
