import GuestMemory

/// Why a kernel image (or the initrd and command line that go with it) cannot be booted.
///
/// Every case names the problem in terms a user can act on; the loader throws these for any
/// malformed input instead of trapping.
public enum KernelImageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The part of an image that ended before its declared size.
    public enum Part: Sendable, Equatable, CustomStringConvertible {
        case setupHeader
        case protectedModeCode
        case elfHeader
        case programHeader(Int)
        case segment(Int)

        public var description: String {
            switch self {
            case .setupHeader: return "bzImage setup header"
            case .protectedModeCode: return "bzImage protected-mode code"
            case .elfHeader: return "ELF header"
            case .programHeader(let index): return "ELF program header \(index)"
            case .segment(let index): return "ELF segment \(index)"
            }
        }
    }

    case emptyFile
    /// The file ends inside `part`; `needed` bytes were required, `available` exist.
    case truncated(Part, needed: UInt64, available: UInt64)
    /// Neither the bzImage "HdrS" signature nor the ELF magic is present.
    case notAKernel
    /// bzImage boot protocol older than 2.06 (no `cmdline_size`, no reliable 64-bit layout).
    case bootProtocolTooOld(version: UInt16)
    /// The bzImage has no 64-bit entry point (needs protocol 2.12+ and `XLF_KERNEL_64`).
    case no64BitEntry(version: UInt16, xloadflags: UInt16)
    case elfNot64Bit(elfClass: UInt8)
    case elfNotLittleEndian(encoding: UInt8)
    case elfNotX86_64(machine: UInt16)
    case elfNotExecutable(type: UInt16)
    /// `e_phentsize` is smaller than an ELF64 program header.
    case elfBadProgramHeaderSize(UInt16)
    case noLoadableSegment
    case segmentOutsideRAM(index: Int, address: UInt64, size: UInt64)
    /// The segment would overwrite the zero page, GDT, page tables or command line below 1 MiB.
    case segmentOverlapsBootStructures(index: Int, address: UInt64)
    case segmentFileSizeExceedsMemorySize(index: Int, fileSize: UInt64, memorySize: UInt64)
    /// `e_entry` lies in no loadable segment.
    case entryPointNotLoaded(UInt64)
    /// The kernel (including the room its decompressor needs, `init_size`) does not fit in low RAM.
    case kernelDoesNotFit(end: UInt64, ramEnd: UInt64)
    /// The initrd is larger than the RAM left above the kernel.
    case initrdTooLarge(size: UInt64, available: UInt64)
    /// The initrd would fit in RAM, but not below the kernel's `initrd_addr_max`.
    case initrdDoesNotFitBelowLimit(size: UInt64, limit: UInt64)
    /// Longer than the kernel's `cmdline_size` or the VMM's command-line area.
    case commandLineTooLong(length: Int, limit: Int)
    /// Guest memory refused a write the checks above had allowed: RAM too small for the boot
    /// structures below 1 MiB, or a loader bug. An error rather than a trap either way.
    case loadFailed(GuestMemoryError)

    public var description: String {
        switch self {
        case .emptyFile:
            return "kernel image is empty"
        case .truncated(let part, let needed, let available):
            return "kernel image is truncated: the \(part) needs \(needed) bytes but the file has \(available)"
        case .notAKernel:
            return "not a Linux kernel: no bzImage \"HdrS\" signature and no ELF magic"
        case .bootProtocolTooOld(let version):
            return "bzImage boot protocol \(Self.protocolString(version)) is too old; 2.06 or newer is required"
        case .no64BitEntry(let version, let xloadflags):
            return "bzImage has no 64-bit entry point (protocol \(Self.protocolString(version)), xloadflags 0x\(String(xloadflags, radix: 16))); protocol 2.12+ with XLF_KERNEL_64 is required"
        case .elfNot64Bit(let elfClass):
            return "ELF kernel is not 64-bit (EI_CLASS \(elfClass))"
        case .elfNotLittleEndian(let encoding):
            return "ELF kernel is not little-endian (EI_DATA \(encoding))"
        case .elfNotX86_64(let machine):
            return "ELF kernel is not for x86_64 (e_machine \(machine), expected 62)"
        case .elfNotExecutable(let type):
            return "ELF kernel is not an executable (e_type \(type), expected 2)"
        case .elfBadProgramHeaderSize(let size):
            return "ELF program header size \(size) is smaller than 56 bytes"
        case .noLoadableSegment:
            return "ELF kernel has no PT_LOAD segment"
        case .segmentOutsideRAM(let index, let address, let size):
            return "ELF segment \(index) at 0x\(String(address, radix: 16)) (\(size) bytes) is outside guest RAM"
        case .segmentOverlapsBootStructures(let index, let address):
            return "ELF segment \(index) at 0x\(String(address, radix: 16)) overlaps the boot structures below 1 MiB"
        case .segmentFileSizeExceedsMemorySize(let index, let fileSize, let memorySize):
            return "ELF segment \(index) has p_filesz \(fileSize) larger than p_memsz \(memorySize)"
        case .entryPointNotLoaded(let entry):
            return "ELF entry point 0x\(String(entry, radix: 16)) is not inside any loadable segment"
        case .kernelDoesNotFit(let end, let ramEnd):
            return "kernel needs memory up to 0x\(String(end, radix: 16)) but low RAM ends at 0x\(String(ramEnd, radix: 16)); give the VM more memory"
        case .initrdTooLarge(let size, let available):
            return "initrd of \(size) bytes is too large: only \(available) bytes of low RAM are free above the kernel"
        case .initrdDoesNotFitBelowLimit(let size, let limit):
            return "initrd of \(size) bytes does not fit above the kernel and below the kernel's initrd_addr_max 0x\(String(limit, radix: 16))"
        case .commandLineTooLong(let length, let limit):
            return "kernel command line is \(length) bytes; the limit is \(limit)"
        case .loadFailed(let error):
            return "cannot load the kernel into guest memory: \(error)"
        }
    }

    private static func protocolString(_ version: UInt16) -> String {
        "\(version >> 8).\(String(format2: version & 0xFF))"
    }
}

private extension String {
    /// Two-digit decimal minor version ("2.06"), without Foundation.
    init(format2 value: UInt16) {
        self = value < 10 ? "0\(value)" : "\(value)"
    }
}
