#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A host program that connected to the device's Unix socket and has not yet said which
/// guest port it wants: it must send `CONNECT <port>\n` first (Firecracker's protocol).
/// `@unchecked Sendable` for the same reason as `VsockConnection`: only touched under the
/// device's runtime lock.
final class VsockHandshake: @unchecked Sendable {
    /// "CONNECT 4294967295\n" is 19 bytes; anything much longer is not the protocol.
    static let maxLineBytes = 32

    let socket: Int32
    var line: [UInt8] = []
    let readable = VsockReadinessFlag(true)
    var watch: ReadinessWatch?

    init(socket: Int32) { self.socket = socket }

    /// The guest port of a complete request line (without its newline); nil unless it is
    /// exactly "CONNECT" followed by one space and a decimal port.
    static func port(fromLine line: [UInt8]) -> UInt32? {
        guard let text = String(validating: line, as: UTF8.self) else { return nil }
        let prefix = "CONNECT "
        guard text.hasPrefix(prefix) else { return nil }
        let digits = text.dropFirst(prefix.count)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt32(digits)
    }
}

extension VsockHandshake {
    func close() {
        watch?.cancel()
        watch = nil
        Glibc.close(socket)
    }
}
