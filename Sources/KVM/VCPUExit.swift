import CKVM
import SwiftletCore

/// Why the guest left `KVM_RUN`, decoded from the vCPU's shared `kvm_run` page.
///
/// Decoding checks every field the buffers depend on, so no value in the page (the kernel
/// writes it, but a bad one must still not become a wild pointer) can make the VMM touch
/// memory outside the mapping. The buffers point into `kvm_run`: a port or MMIO read is
/// answered by filling them before the next `KVM_RUN`.
public enum VCPUExit {
    case portIO(PortIO)
    case mmio(MMIOAccess)
    /// HLT with the in-kernel LAPIC off: nothing would ever wake the vCPU.
    case halt
    /// Triple fault, or a reset KVM could not emulate.
    case shutdown
    case systemEvent(SystemEvent)
    case internalError(suberror: UInt32)
    case failedEntry(hardwareReason: UInt64)
    /// A signal arrived while the guest ran; nothing to do.
    case interrupted
    /// An I/O exit whose size, count or length cannot be right; `reason` says which.
    case malformed(reason: String)
    case unknown(reason: UInt32)

    /// Port I/O: `count` accesses of `size` bytes each (more than one for `rep ins/outs`).
    public struct PortIO {
        public enum Direction: Sendable, Equatable { case read, write }
        public let direction: Direction
        public let port: UInt16
        public let size: Int
        public let count: Int
        /// `size × count` bytes inside `kvm_run`: the values written, or the room for the
        /// values read.
        public let data: UnsafeMutableRawBufferPointer

        /// The bytes of access `index` (0 ..< count).
        public func element(_ index: Int) -> UnsafeMutableRawBufferPointer {
            UnsafeMutableRawBufferPointer(rebasing: data[(index * size)..<((index + 1) * size)])
        }
    }

    /// One MMIO access of 1 to 8 bytes to guest-physical `address`.
    public struct MMIOAccess {
        public let isWrite: Bool
        public let address: UInt64
        /// The access's bytes inside `kvm_run` (little-endian).
        public let data: UnsafeMutableRawBufferPointer
    }

    public enum SystemEvent: Sendable, Equatable {
        case reset
        case shutdown
        case crash
        case other(UInt32)
    }

    /// Port I/O sizes x86 has (`in`/`out` of a byte, word or doubleword). A switch, not a
    /// `Set`: this runs on every port exit, and hashing showed up in its profile.
    static func isPortAccessSize(_ size: Int) -> Bool {
        switch size {
        case 1, 2, 4: return true
        default: return false
        }
    }
    static let maxMMIOLength = 8

    /// Decodes the `kvm_run` structure at `page`, of which `mappingSize` bytes are mapped.
    public init(run page: UnsafeMutableRawPointer, mappingSize: Int) {
        let run = page.assumingMemoryBound(to: kvm_run.self)
        switch Int32(bitPattern: run.pointee.exit_reason) {
        case KVM_EXIT_IO: self = Self.decodePortIO(run, mappingSize: mappingSize)
        case KVM_EXIT_MMIO: self = Self.decodeMMIO(run)
        case KVM_EXIT_HLT: self = .halt
        case KVM_EXIT_SHUTDOWN: self = .shutdown
        case KVM_EXIT_SYSTEM_EVENT: self = .systemEvent(SystemEvent(type: run.pointee.system_event.type))
        case KVM_EXIT_INTERNAL_ERROR: self = .internalError(suberror: run.pointee.internal.suberror)
        case KVM_EXIT_FAIL_ENTRY: self = .failedEntry(hardwareReason: run.pointee.fail_entry.hardware_entry_failure_reason)
        case KVM_EXIT_INTR: self = .interrupted
        default: self = .unknown(reason: run.pointee.exit_reason)
        }
    }

    private static func decodePortIO(_ run: UnsafeMutablePointer<kvm_run>, mappingSize: Int) -> VCPUExit {
        let io = run.pointee.io
        let size = Int(io.size)
        let count = Int(io.count)
        guard isPortAccessSize(size) else { return .malformed(reason: "port I/O of \(size) bytes") }
        guard count > 0 else { return .malformed(reason: "port I/O repeated 0 times") }
        // size ≤ 4 and count < 2^32, so the product cannot overflow.
        let byteCount = UInt64(size) * UInt64(count)
        guard let mapping = AddressRange(start: 0, length: UInt64(max(mappingSize, 0))),
            mapping.contains(io.data_offset, count: byteCount)
        else {
            return .malformed(reason: "port I/O data (\(byteCount) bytes at offset \(io.data_offset)) leaves the kvm_run mapping")
        }
        let data = UnsafeMutableRawBufferPointer(start: ckvm_run_io_data(run), count: Int(byteCount))
        let direction: PortIO.Direction = io.direction == UInt8(KVM_EXIT_IO_OUT) ? .write : .read
        return .portIO(PortIO(direction: direction, port: io.port, size: size, count: count, data: data))
    }

    private static func decodeMMIO(_ run: UnsafeMutablePointer<kvm_run>) -> VCPUExit {
        let mmio = run.pointee.mmio
        let length = Int(mmio.len)
        guard (1...maxMMIOLength).contains(length) else { return .malformed(reason: "MMIO access of \(length) bytes") }
        let data = UnsafeMutableRawBufferPointer(start: ckvm_run_mmio_data(run), count: length)
        return .mmio(MMIOAccess(isWrite: mmio.is_write != 0, address: mmio.phys_addr, data: data))
    }
}

extension VCPUExit.SystemEvent {
    init(type: UInt32) {
        switch Int32(bitPattern: type) {
        case KVM_SYSTEM_EVENT_RESET: self = .reset
        case KVM_SYSTEM_EVENT_SHUTDOWN: self = .shutdown
        case KVM_SYSTEM_EVENT_CRASH: self = .crash
        default: self = .other(type)
        }
    }
}
