import GuestMemory
import SwiftletCore

/// The flat GDT the guest starts on: the 64-bit boot protocol wants `__BOOT_CS` = 0x10 and
/// `__BOOT_DS` = 0x18, but both the decompressor and the kernel load their own GDT at once,
/// so we use Firecracker's compact layout, which the guest never depends on.
public enum BootGDT {
    /// Null, 64-bit code (L=1), flat data, and a 32-bit TSS so that TR holds something valid.
    public static let entries: [UInt64] = [
        0,
        0x00AF_9B00_0000_FFFF,
        0x00CF_9300_0000_FFFF,
        0x008F_8B00_0000_FFFF,
    ]
    public static let codeSelector: UInt16 = 0x08
    public static let dataSelector: UInt16 = 0x10
    public static let taskSelector: UInt16 = 0x18

    public static var table: DescriptorTable {
        DescriptorTable(base: X86Layout.gdtAddress.rawValue, limit: UInt16(entries.count * 8 - 1))
    }

    /// An IDT with one empty gate: interrupts stay disabled until the kernel installs its own,
    /// and a fault before then triple-faults visibly instead of running garbage.
    public static var idt: DescriptorTable {
        DescriptorTable(base: X86Layout.idtAddress.rawValue, limit: 7)
    }

    public static var code: SegmentDescriptor { descriptor(for: codeSelector) }
    public static var data: SegmentDescriptor { descriptor(for: dataSelector) }
    public static var task: SegmentDescriptor { descriptor(for: taskSelector) }

    private static func descriptor(for selector: UInt16) -> SegmentDescriptor {
        SegmentDescriptor(gdtEntry: entries[Int(selector >> 3)], selector: selector)
    }

    /// Writes the GDT and the placeholder IDT.
    static func write(to memory: GuestMemory) throws(GuestMemoryError) {
        var table: [UInt8] = []
        for entry in entries { table.appendLittleEndian(entry) }
        try memory.write(bytes: table, at: X86Layout.gdtAddress)
        try memory.write(UInt64(0), at: X86Layout.idtAddress)
    }
}
