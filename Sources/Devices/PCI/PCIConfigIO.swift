import Synchronization

/// Configuration mechanism #1: the address latch at 0xCF8 and the data window at 0xCFC–0xCFF.
///
/// Insert it into the port bus at `portBase` with length `portCount`. Only bus 0, function 0
/// exists; anything else, a disabled latch, or an access that crosses a dword reads all ones
/// and drops writes, which is how Linux learns a device is absent.
public final class PCIConfigIO: BusDevice {
    public static let portBase: UInt64 = 0xCF8
    public static let portCount: UInt64 = 8

    public struct State: Codable, Sendable, Equatable {
        public var address: UInt32
    }

    private let root: PCIRoot
    private let address = Mutex<UInt32>(0)

    public init(root: PCIRoot) {
        self.root = root
    }

    public func read(offset: UInt64, data: UnsafeMutableRawBufferPointer) {
        guard let target = target(offset: offset, count: data.count) else {
            if offset < 4, offset + UInt64(data.count) <= 4 {
                // The latch reads back as written, at any width (Linux's type-1 probe relies on it).
                data.storeLittleEndian(UInt64(address.withLock { $0 }) >> (offset * 8))
            } else {
                fillOnes(data)
            }
            return
        }
        root.readConfig(slot: target.slot, offset: target.offset, data: data)
    }

    public func write(offset: UInt64, data: UnsafeRawBufferPointer) {
        if offset < 4 {
            guard offset + UInt64(data.count) <= 4 else { return }
            address.withLock { latch in
                for (index, byte) in data.enumerated() {
                    let shift = (offset + UInt64(index)) * 8
                    latch = (latch & ~(UInt32(0xFF) << shift)) | (UInt32(byte) << shift)
                }
            }
            return
        }
        guard let target = target(offset: offset, count: data.count) else { return }
        root.writeConfig(slot: target.slot, offset: target.offset, data: data)
    }

    /// Decodes the latch for a data-port access; nil when it addresses nothing.
    private func target(offset: UInt64, count: Int) -> (slot: Int, offset: Int)? {
        guard offset >= 4, offset < 8, count > 0, (offset - 4) + UInt64(count) <= 4 else { return nil }
        let latch = address.withLock { $0 }
        guard latch & 0x8000_0000 != 0 else { return nil }
        let bus = (latch >> 16) & 0xFF
        let function = (latch >> 8) & 0x7
        let reserved = (latch >> 24) & 0x7F  // AMD extended-register bits: no extended space here
        guard bus == 0, function == 0, reserved == 0 else { return nil }
        let slot = Int((latch >> 11) & 0x1F)
        return (slot, Int(latch & 0xFC) + Int(offset - 4))
    }

    private func fillOnes(_ data: UnsafeMutableRawBufferPointer) {
        for index in data.indices { data[index] = 0xFF }
    }

    public func saveState() -> State { State(address: address.withLock { $0 }) }

    public func restoreState(_ state: State) throws {
        address.withLock { $0 = state.address }
    }
}
