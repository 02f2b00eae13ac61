import SwiftletCore

/// One resource descriptor of a `_CRS` resource template (ACPI 6.5 §6.4), encoded.
///
/// Small descriptors start with a tag byte holding type and length; large descriptors with a
/// tag byte (bit 7 set) and a 16-bit length of what follows. Bridge windows are described as
/// producers with fixed minimum and maximum (ASL's `ResourceProducer, MinFixed, MaxFixed,
/// PosDecode`), the form Linux turns into root bus windows.
public struct ResourceDescriptor: Sendable, Hashable {
    public let bytes: [UInt8]

    enum Tag {
        static let io: UInt8 = 0x47  // small item 0x08, length 7
        static let fixedIO: UInt8 = 0x4B  // small item 0x09, length 3
        static let endTag: UInt8 = 0x79  // small item 0x0F, length 1
        static let memory32Fixed: UInt8 = 0x86
        static let dwordAddressSpace: UInt8 = 0x87
        static let wordAddressSpace: UInt8 = 0x88
        static let extendedInterrupt: UInt8 = 0x89
        static let qwordAddressSpace: UInt8 = 0x8A
    }

    /// Address space descriptor resource types.
    enum AddressSpaceType: UInt8 {
        case memory = 0
        case io = 1
        case busNumber = 2
    }

    /// General flags of a bridge window: MinFixed (bit 2) and MaxFixed (bit 3), positive
    /// decode (bit 1 clear), producer (bit 0 clear).
    static let producerWindowFlags: UInt8 = 0x0C

    /// Memory cacheability (type-specific flags bits 1–2).
    public enum Cacheability: UInt8, Sendable {
        case nonCacheable = 0
        case cacheable = 1
        case writeCombining = 2
        case prefetchable = 3
    }

    /// Interrupt trigger mode (extended interrupt flags bit 1).
    public enum Trigger: Sendable { case level, edge }
    /// Interrupt polarity (extended interrupt flags bit 2).
    public enum Polarity: Sendable { case activeHigh, activeLow }

    // MARK: Small descriptors

    /// `IO(Decode16 or Decode10, minimum, maximum, alignment, length)`: a port range the
    /// device decodes, with 16-bit (or ISA's 10-bit) address decoding.
    public static func io(decode16: Bool = true, minimum: UInt16, maximum: UInt16, alignment: UInt8, length: UInt8)
        throws(FirmwareTableError) -> ResourceDescriptor
    {
        guard minimum <= maximum else {
            throw FirmwareTableError("IO descriptor", "minimum 0x\(hex(minimum)) lies above maximum 0x\(hex(maximum))")
        }
        var bytes: [UInt8] = [Tag.io, decode16 ? 0x01 : 0x00]
        bytes.appendLittleEndian(minimum)
        bytes.appendLittleEndian(maximum)
        bytes += [alignment, length]
        return ResourceDescriptor(bytes: bytes)
    }

    /// `FixedIO(base, length)`: an ISA port range with 10-bit decoding, so the base must lie
    /// below 0x400.
    public static func fixedIO(base: UInt16, length: UInt8) throws(FirmwareTableError) -> ResourceDescriptor {
        guard base <= 0x3FF else {
            throw FirmwareTableError("FixedIO descriptor", "base 0x\(hex(base)) does not fit ISA's 10-bit decode")
        }
        return ResourceDescriptor(bytes: [Tag.fixedIO] + .littleEndian(base) + [length])
    }

    // MARK: Large descriptors

    /// `Memory32Fixed(ReadWrite or ReadOnly, base, length)`: a fixed MMIO range below 4 GiB.
    public static func memory32Fixed(_ range: AddressRange, writable: Bool = true) throws(FirmwareTableError)
        -> ResourceDescriptor
    {
        guard let base = UInt32(exactly: range.start), let length = UInt32(exactly: range.length),
            range.end.map({ $0 <= 0x1_0000_0000 }) == true
        else { throw FirmwareTableError("Memory32Fixed descriptor", "\(range) does not lie below 4 GiB") }
        var body: [UInt8] = [writable ? 0x01 : 0x00]
        body.appendLittleEndian(base)
        body.appendLittleEndian(length)
        return large(Tag.memory32Fixed, body)
    }

    /// `Interrupt(ResourceConsumer, trigger, polarity, Exclusive or Shared) { gsis }`: the
    /// extended interrupt descriptor, which names global system interrupts of any width.
    public static func interrupt(
        _ gsis: [UInt32], trigger: Trigger = .edge, polarity: Polarity = .activeHigh, shared: Bool = false
    ) throws(FirmwareTableError) -> ResourceDescriptor {
        guard (1...0xFF).contains(gsis.count) else {
            throw FirmwareTableError("Interrupt descriptor", "must list 1 to 255 interrupts, not \(gsis.count)")
        }
        let consumer: UInt8 = 0x01
        let flags = consumer | (trigger == .edge ? 0x02 : 0) | (polarity == .activeLow ? 0x04 : 0) | (shared ? 0x08 : 0)
        var body: [UInt8] = [flags, UInt8(gsis.count)]
        for gsi in gsis { body.appendLittleEndian(gsi) }
        return large(Tag.extendedInterrupt, body)
    }

    /// `WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, …)` for the buses a
    /// host bridge decodes.
    public static func wordBusNumber(_ buses: ClosedRange<UInt8>) throws(FirmwareTableError) -> ResourceDescriptor {
        let range = AddressRange(start: UInt64(buses.lowerBound), length: UInt64(buses.count))!
        return try addressSpace(UInt16.self, Tag.wordAddressSpace, .busNumber, typeFlags: 0, range, "WordBusNumber")
    }

    /// `WordIO(ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, …)`: a port
    /// window a host bridge forwards.
    public static func wordIO(_ window: AddressRange) throws(FirmwareTableError) -> ResourceDescriptor {
        let entireRange: UInt8 = 0x03  // _RNG: both ISA and non-ISA ranges
        return try addressSpace(UInt16.self, Tag.wordAddressSpace, .io, typeFlags: entireRange, window, "WordIO")
    }

    /// `DWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, cacheability, ReadWrite
    /// or ReadOnly, …)`: a 32-bit MMIO window.
    public static func dwordMemory(_ window: AddressRange, cacheability: Cacheability = .nonCacheable, writable: Bool = true)
        throws(FirmwareTableError) -> ResourceDescriptor
    {
        try addressSpace(
            UInt32.self, Tag.dwordAddressSpace, .memory, typeFlags: memoryFlags(cacheability, writable), window, "DWordMemory")
    }

    /// `QWordMemory(…)`: the same as `dwordMemory`, for a window anywhere in the 64-bit space.
    public static func qwordMemory(_ window: AddressRange, cacheability: Cacheability = .cacheable, writable: Bool = true)
        throws(FirmwareTableError) -> ResourceDescriptor
    {
        try addressSpace(
            UInt64.self, Tag.qwordAddressSpace, .memory, typeFlags: memoryFlags(cacheability, writable), window, "QWordMemory")
    }

    /// The end tag that closes a resource template; its checksum byte makes the whole
    /// template, end tag included, sum to zero.
    static func endTag(closing descriptors: [ResourceDescriptor]) -> ResourceDescriptor {
        let checksum = FirmwareChecksum.complement(of: descriptors.flatMap(\.bytes) + [Tag.endTag])
        return ResourceDescriptor(bytes: [Tag.endTag, checksum])
    }

    // MARK: Encoding helpers

    private static func memoryFlags(_ cacheability: Cacheability, _ writable: Bool) -> UInt8 {
        cacheability.rawValue << 1 | (writable ? 0x01 : 0x00)
    }

    /// The Word/DWord/QWord address space descriptor body: resource type, general flags,
    /// type-specific flags, then granularity, minimum, maximum, translation offset and length,
    /// each of `Width`.
    private static func addressSpace<Width: FixedWidthInteger & UnsignedInteger>(
        _: Width.Type, _ tag: UInt8, _ type: AddressSpaceType, typeFlags: UInt8, _ range: AddressRange, _ what: String
    ) throws(FirmwareTableError) -> ResourceDescriptor {
        guard let last = range.last else { throw FirmwareTableError("\(what) descriptor", "the range is empty") }
        guard let minimum = Width(exactly: range.start), let maximum = Width(exactly: last),
            let length = Width(exactly: range.length)
        else { throw FirmwareTableError("\(what) descriptor", "\(range) does not fit \(Width.bitWidth)-bit fields") }
        var body: [UInt8] = [type.rawValue, producerWindowFlags, typeFlags]
        body.appendLittleEndian(Width(0))  // granularity: no decode mask beyond the range itself
        body.appendLittleEndian(minimum)
        body.appendLittleEndian(maximum)
        body.appendLittleEndian(Width(0))  // translation offset: CPU and bus addresses are the same
        body.appendLittleEndian(length)
        return large(tag, body)
    }

    private static func large(_ tag: UInt8, _ body: [UInt8]) -> ResourceDescriptor {
        ResourceDescriptor(bytes: [tag] + .littleEndian(UInt16(body.count)) + body)
    }

    private static func hex(_ value: UInt16) -> String { String(value, radix: 16) }
}
