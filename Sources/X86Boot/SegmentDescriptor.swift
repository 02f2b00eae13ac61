/// A segment register's hidden state, field for field as KVM's `struct kvm_segment` holds it.
public struct SegmentDescriptor: Sendable, Equatable {
    public var base: UInt64
    /// Byte-granular limit: a page-granular GDT limit is already scaled, as KVM expects.
    public var limit: UInt32
    public var selector: UInt16
    public var type: UInt8
    public var present: UInt8
    public var dpl: UInt8
    public var db: UInt8
    public var s: UInt8
    public var l: UInt8
    public var g: UInt8
    public var avl: UInt8

    public init(
        base: UInt64, limit: UInt32, selector: UInt16, type: UInt8,
        present: UInt8, dpl: UInt8, db: UInt8, s: UInt8, l: UInt8, g: UInt8, avl: UInt8
    ) {
        self.base = base
        self.limit = limit
        self.selector = selector
        self.type = type
        self.present = present
        self.dpl = dpl
        self.db = db
        self.s = s
        self.l = l
        self.g = g
        self.avl = avl
    }

    /// Decodes an 8-byte GDT entry (Intel SDM vol. 3, 3.4.5), so the registers KVM is given
    /// always agree with the table the guest will later reload them from.
    public init(gdtEntry entry: UInt64, selector: UInt16) {
        let base = ((entry >> 16) & 0xFF_FFFF) | ((entry >> 32) & 0xFF00_0000)
        let rawLimit = UInt32(truncatingIfNeeded: (entry & 0xFFFF) | ((entry >> 32) & 0xF_0000))
        let granularity = UInt8(truncatingIfNeeded: (entry >> 55) & 1)
        self.init(
            base: base,
            limit: granularity == 1 ? (rawLimit << 12) | 0xFFF : rawLimit,
            selector: selector,
            type: UInt8(truncatingIfNeeded: (entry >> 40) & 0xF),
            present: UInt8(truncatingIfNeeded: (entry >> 47) & 1),
            dpl: UInt8(truncatingIfNeeded: (entry >> 45) & 3),
            db: UInt8(truncatingIfNeeded: (entry >> 54) & 1),
            s: UInt8(truncatingIfNeeded: (entry >> 44) & 1),
            l: UInt8(truncatingIfNeeded: (entry >> 53) & 1),
            g: granularity,
            avl: UInt8(truncatingIfNeeded: (entry >> 52) & 1))
    }
}

/// Base and limit of a GDT or IDT, as loaded by `lgdt`/`lidt` (KVM's `struct kvm_dtable`).
public struct DescriptorTable: Sendable, Equatable {
    public var base: UInt64
    public var limit: UInt16

    public init(base: UInt64, limit: UInt16) {
        self.base = base
        self.limit = limit
    }
}
