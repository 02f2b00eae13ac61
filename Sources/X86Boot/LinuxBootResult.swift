/// What `LinuxBoot.prepare` placed in guest memory and how to start the boot vCPU.
public struct LinuxBootResult: Sendable {
    public let format: KernelFormat
    public let cpu: BootCPUState
    /// First address above the kernel and the room it needs to start (decompression for a
    /// bzImage); the initrd lies above it.
    public let kernelEnd: UInt64
    public let initrdRange: Range<UInt64>?

    public init(format: KernelFormat, cpu: BootCPUState, kernelEnd: UInt64, initrdRange: Range<UInt64>?) {
        self.format = format
        self.cpu = cpu
        self.kernelEnd = kernelEnd
        self.initrdRange = initrdRange
    }
}
