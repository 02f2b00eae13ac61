import SwiftletCore

/// A virtio device model, independent of the transport that carries it.
///
/// The transport (`VirtioPCIDevice`, and any later one through `VirtioDeviceCore`) owns
/// feature negotiation, status, queue setup and interrupts; the device only describes itself
/// and consumes descriptor chains. All calls except the identity properties and config-space
/// accesses arrive on the core's serial I/O queue, so a device needs no locking for its
/// processing state.
public protocol VirtioDevice: AnyObject, Sendable {
    /// Prefix of error reports, e.g. "virtio-blk".
    var name: String { get }
    /// Virtio device ID (2 for a block device); the PCI device ID is 0x1040 plus this.
    var deviceType: UInt16 { get }
    /// Device-specific feature bits; the transport adds VERSION_1 and EVENT_IDX itself.
    var deviceFeatures: UInt64 { get }
    /// Maximum size of each queue (powers of two); the count is the number of queues.
    var queueMaxSizes: [UInt16] { get }
    /// Bytes of device-specific configuration space.
    var configSpaceSize: Int { get }
    /// Reads device config bytes at `offset`; the transport keeps the access inside
    /// `configSpaceSize` rounded up to a dword (bytes past the end read zero).
    func readConfig(offset: Int, data: UnsafeMutableRawBufferPointer)
    func writeConfig(offset: Int, data: UnsafeRawBufferPointer)
    /// The driver set DRIVER_OK with `features` negotiated.
    func activate(features: UInt64) throws
    /// The driver reset the device (or a snapshot is being restored): drop runtime state.
    func reset()
    /// Consumes available chains of `queue`, adding each to the used ring. Throwing marks
    /// the request (and so the device) as broken: the transport reports it and sets
    /// DEVICE_NEEDS_RESET. Process a bounded number of chains: the transport calls again when
    /// more are available.
    func process(queue: Virtqueue) throws
    /// Called on the device's thread after each pass of `process(queue:)`, once the queues'
    /// lock is released: a device that queued host I/O during the pass starts it here, so that
    /// its completions, which take that lock to reach the used ring, never wait behind the
    /// submission (io_uring may run a request inside the submitting system call).
    func startQueuedWork()
    /// Called once when a transport's core takes the device. A device with a host-side event
    /// source (a tap, a socket) keeps the trigger to have a queue processed when its source
    /// has work; the others ignore it.
    func connect(_ trigger: VirtioQueueTrigger)
    /// Completions of host I/O the device started that it has handed back so far
    /// (`VirtioQueueTrigger.completeRequests`); 0 for a device whose work all ends in `process`.
    var asynchronousCompletionsQueued: UInt64 { get }
    /// Waits until every request the device handed to host I/O has been handed back, and
    /// returns `asynchronousCompletionsQueued`. The transport's drain runs the worker until
    /// this stops changing.
    func settleAsynchronousWork() -> UInt64
}

extension VirtioDevice {
    /// Most devices only react to the guest's notifications.
    public func connect(_ trigger: VirtioQueueTrigger) {}

    /// Most devices finish every request inside `process`.
    public func startQueuedWork() {}
    public var asynchronousCompletionsQueued: UInt64 { 0 }
    public func settleAsynchronousWork() -> UInt64 { 0 }

    /// Answers a config-space read from the whole config space's bytes: the `data.count`
    /// bytes at `offset`, or zeros when the access does not lie inside `config`.
    func answerConfigRead(from config: [UInt8], offset: Int, into data: UnsafeMutableRawBufferPointer) {
        let space = AddressRange(start: 0, length: UInt64(config.count))!
        guard offset >= 0, space.contains(UInt64(offset), count: UInt64(data.count)) else { return data.fillWithZeros() }
        data.copyBytes(from: config[offset..<offset + data.count])
    }
}
