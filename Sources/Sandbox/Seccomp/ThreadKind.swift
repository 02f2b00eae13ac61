/// The kinds of VMM thread that each get their own allowlist, as in Firecracker: what a vCPU
/// thread may do is much less than what the thread that builds the VM and writes snapshots may.
public enum ThreadKind: String, CaseIterable, Sendable, Codable {
    /// Runs `KVM_RUN` and the device emulation that a VM exit calls synchronously.
    case vcpu
    /// The control API's event loop: accepts connections and parses HTTP on the Unix socket.
    case api
    /// A virtio device's queue worker: reads and writes disk images, signals interrupts.
    case deviceIO = "device-io"
    /// The VMM's control thread: builds or restores the VM, pauses it, writes snapshots and
    /// serves the API's backend calls. The broadest list.
    case main
}
