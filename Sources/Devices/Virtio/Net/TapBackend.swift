#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CTap
import SwiftletCore

/// A host tap device, opened through /dev/net/tun with `IFF_TAP | IFF_NO_PI | IFF_VNET_HDR`
/// and a 12-byte virtio-net header, so frames pass between tap and guest unchanged.
///
/// The tap must exist (the user or a runtime created it, with an owner that lets this process
/// attach); Swiftlet never creates one, so a misspelt name is an error, not a new interface.
public final class TapBackend: NetBackend {
    public static let vnetHeaderSize: Int32 = 12

    public let name: String
    private let descriptor: Int32

    public var readinessDescriptor: Int32 { descriptor }

    public init(name: String) throws(VirtioNetError) {
        guard !name.isEmpty, name.utf8.count < Int(CTAP_IFNAMSIZ), !name.contains("/"), !name.contains(where: \.isWhitespace) else {
            throw .invalidTapName(name)
        }
        guard if_nametoindex(name) != 0 else { throw .tapNotFound(name) }
        let descriptor: Int32
        do {
            descriptor = try systemCall("open", path: "/dev/net/tun") { open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC) }
        } catch {
            throw .cannotOpenTunDevice(error)
        }
        do {
            try systemCall("TUNSETIFF") { ctap_set_interface(descriptor, name, CTAP_IFF_TAP | CTAP_IFF_NO_PI | CTAP_IFF_VNET_HDR) }
        } catch {
            close(descriptor)
            throw .cannotAttach(tap: name, error)
        }
        do {
            try systemCall("TUNSETVNETHDRSZ") { ctap_set_vnet_header_size(descriptor, Self.vnetHeaderSize) }
            // No offloads until the guest says which it takes.
            try systemCall("TUNSETOFFLOAD") { ctap_set_offload(descriptor, 0) }
        } catch {
            close(descriptor)
            throw .cannotConfigure(tap: name, error)
        }
        self.name = name
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int? {
        let count = retryingOnInterrupt { read(descriptor, buffer.baseAddress, buffer.count) }
        if count >= 0 { return count }
        if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
        throw SystemError.last("read", path: name)
    }

    public func send(_ frame: UnsafeRawBufferPointer) throws -> Bool {
        let count = retryingOnInterrupt { write(descriptor, frame.baseAddress, frame.count) }
        if count >= 0 { return true }
        // A full tap queue, or a frame the kernel refused (e.g. a bad GSO header): drop it.
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINVAL || errno == EIO { return false }
        throw SystemError.last("write", path: name)
    }

    public func setReceiveOffloads(_ offloads: NetOffloads) throws {
        var flags: UInt32 = 0
        if offloads.contains(.checksum) { flags |= CTAP_TUN_F_CSUM }
        if offloads.contains(.tso4) { flags |= CTAP_TUN_F_TSO4 }
        if offloads.contains(.tso6) { flags |= CTAP_TUN_F_TSO6 }
        try systemCall("TUNSETOFFLOAD", path: name) { ctap_set_offload(descriptor, flags) }
    }
}
