/// Which kind of kernel image was loaded.
public enum KernelFormat: Sendable, Equatable {
    /// A compressed bzImage entered at its 64-bit entry (load address + 0x200).
    case bzImage(protocolVersion: UInt16)
    /// An uncompressed ELF64 executable (a vmlinux, or the project's test guest).
    case elf64
}
