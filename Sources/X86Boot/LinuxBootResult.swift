import SwiftletCore

/// What `LinuxBoot.prepare` placed in guest memory and how to start the boot vCPU.
public struct LinuxBootResult: Sendable {
    public let format: KernelFormat
    public let cpu: BootCPUState
    /// First address above the kernel and the room it needs to start (decompression for a
    /// bzImage); the initrd lies above it.
    public let kernelEnd: UInt64
    /// Where the initrd was placed, if there is one.
    public let initrdRange: AddressRange?

    public init(format: KernelFormat, cpu: BootCPUState, kernelEnd: UInt64, initrdRange: AddressRange?) {
        self.format = format
        self.cpu = cpu
        self.kernelEnd = kernelEnd
        self.initrdRange = initrdRange
    }
}
