import Devices
import Synchronization

/// Records every level the device drives its interrupt line to.
final class RecordingInterruptLine: InterruptLine {
    private let levels = Mutex<[Bool]>([])
    func setLevel(_ asserted: Bool) { levels.withLock { $0.append(asserted) } }
    var current: Bool { levels.withLock { $0.last ?? false } }
}

/// Collects transmitted bytes.
final class RecordingOutput: Sendable {
    private let bytes = Mutex<[UInt8]>([])
    func append(_ new: [UInt8]) { bytes.withLock { $0.append(contentsOf: new) } }
    var text: String { bytes.withLock { String(decoding: $0, as: UTF8.self) } }
}

extension BusDevice {
    func readByte(_ offset: UInt64) -> UInt8 {
        var value: UInt8 = 0
        withUnsafeMutableBytes(of: &value) { read(offset: offset, data: $0) }
        return value
    }

    func writeByte(_ offset: UInt64, _ value: UInt8) {
        withUnsafeBytes(of: value) { write(offset: offset, data: $0) }
    }
}
