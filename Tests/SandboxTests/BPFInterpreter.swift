@testable import Sandbox

/// Runs a seccomp BPF program over one `seccomp_data`, for unit tests of the generator's logic.
/// The kernel's own verdict is checked separately (SeccompKernelTests run sandbox-probe).
struct BPFInterpreter {
    var architecture: UInt32 = 0xC000_003E  // AUDIT_ARCH_X86_64
    var number: UInt32
    var arguments: [UInt64] = Array(repeating: 0, count: 6)

    /// The little-endian `struct seccomp_data` the kernel hands a filter.
    var data: [UInt8] {
        var bytes = [UInt8]()
        bytes += withUnsafeBytes(of: number.littleEndian, Array.init)
        bytes += withUnsafeBytes(of: architecture.littleEndian, Array.init)
        bytes += withUnsafeBytes(of: UInt64(0x1000).littleEndian, Array.init)  // instruction pointer
        for argument in arguments { bytes += withUnsafeBytes(of: argument.littleEndian, Array.init) }
        return bytes
    }

    struct Fault: Error, CustomStringConvertible {
        var description: String
    }

    /// The return value, or a fault where the kernel would refuse the program.
    func run(_ program: BPFProgram) throws -> UInt32 {
        let data = self.data
        var accumulator: UInt32 = 0
        var pc = 0
        while pc < program.instructions.count {
            let instruction = program.instructions[pc]
            switch instruction.code {
            case BPFInstruction.loadWordAbsolute:
                let offset = Int(instruction.operand)
                guard offset % 4 == 0, offset + 4 <= data.count else { throw Fault(description: "load outside seccomp_data at \(pc)") }
                accumulator = data[offset..<offset + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) }
                pc += 1
            case BPFInstruction.jumpIfEqual:
                pc += 1 + Int(accumulator == instruction.operand ? instruction.jumpIfTrue : instruction.jumpIfFalse)
            case BPFInstruction.jumpAlways:
                pc += 1 + Int(instruction.operand)
            case BPFInstruction.returnConstant:
                return instruction.operand
            default:
                throw Fault(description: "unknown opcode at \(pc)")
            }
        }
        throw Fault(description: "ran off the end")
    }
}
