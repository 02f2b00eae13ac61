/// Where a virtio-net device's frames go and come from: a host tap, or in tests a socket pair.
///
/// Every frame on either side starts with the 12-byte virtio-net header (`struct
/// virtio_net_hdr_v1`), exactly as the guest sees it, so the device passes bytes through.
public protocol NetBackend: AnyObject, Sendable {
    /// A non-blocking descriptor that is readable when a frame is waiting.
    var readinessDescriptor: Int32 { get }
    /// Reads one frame (header included) into `buffer`; its length, nil when none is waiting.
    /// Throws on a failure that is not "try again later".
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int?
    /// Sends one frame (header included); false when the host cannot take it now (the frame
    /// is then dropped, as a NIC drops under pressure).
    func send(_ frame: UnsafeRawBufferPointer) throws -> Bool
    /// Tells the host which offloads the guest accepted for frames it receives
    /// (checksum, TSO4, TSO6), so the host never sends it a frame it cannot take.
    func setReceiveOffloads(_ offloads: NetOffloads) throws
}

/// Offloads a guest accepts on receive, from its negotiated GUEST_* features.
public struct NetOffloads: OptionSet, Sendable, Equatable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let checksum = NetOffloads(rawValue: 1 << 0)
    public static let tso4 = NetOffloads(rawValue: 1 << 1)
    public static let tso6 = NetOffloads(rawValue: 1 << 2)
}
