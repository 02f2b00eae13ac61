import CSandbox

/// One classic BPF instruction (`struct sock_filter`), limited to the forms a seccomp allowlist
/// needs. Jump offsets count instructions after the next one, as the kernel does.
public struct BPFInstruction: Sendable, Equatable, CustomStringConvertible {
    public var code: UInt16
    public var jumpIfTrue: UInt8
    public var jumpIfFalse: UInt8
    public var operand: UInt32

    static let loadWordAbsolute = UInt16(BPF_LD | BPF_W | BPF_ABS)
    static let jumpIfEqual = UInt16(BPF_JMP | BPF_JEQ | BPF_K)
    static let jumpAlways = UInt16(BPF_JMP | BPF_JA)
    static let returnConstant = UInt16(BPF_RET | BPF_K)

    /// Loads the 32-bit word at `offset` of `struct seccomp_data` into the accumulator.
    public static func load(offset: UInt32) -> BPFInstruction {
        BPFInstruction(code: loadWordAbsolute, jumpIfTrue: 0, jumpIfFalse: 0, operand: offset)
    }

    /// Compares the accumulator with `value`; skips `ifTrue` or `ifFalse` instructions.
    public static func jump(ifEqual value: UInt32, ifTrue: UInt8, ifFalse: UInt8) -> BPFInstruction {
        BPFInstruction(code: jumpIfEqual, jumpIfTrue: ifTrue, jumpIfFalse: ifFalse, operand: value)
    }

    /// Skips `count` instructions unconditionally: the only jump with a 32-bit offset.
    public static func jump(over count: UInt32) -> BPFInstruction {
        BPFInstruction(code: jumpAlways, jumpIfTrue: 0, jumpIfFalse: 0, operand: count)
    }

    /// Ends the program with a seccomp action (`SECCOMP_RET_*`).
    public static func `return`(_ action: UInt32) -> BPFInstruction {
        BPFInstruction(code: returnConstant, jumpIfTrue: 0, jumpIfFalse: 0, operand: action)
    }

    var isReturn: Bool { code == Self.returnConstant }

    /// The instructions this one can continue at, relative to its own index.
    var successorOffsets: [Int] {
        switch code {
        case Self.returnConstant: return []
        case Self.jumpAlways: return [1 + Int(operand)]
        case Self.jumpIfEqual: return [1 + Int(jumpIfTrue), 1 + Int(jumpIfFalse)]
        default: return [1]
        }
    }

    var kernelForm: sock_filter { sock_filter(code: code, jt: jumpIfTrue, jf: jumpIfFalse, k: operand) }

    public var description: String {
        switch code {
        case Self.loadWordAbsolute: return "ld [\(operand)]"
        case Self.jumpIfEqual: return "jeq #0x\(String(operand, radix: 16)), +\(jumpIfTrue), +\(jumpIfFalse)"
        case Self.jumpAlways: return "ja +\(operand)"
        case Self.returnConstant: return "ret #0x\(String(operand, radix: 16))"
        default: return "op 0x\(String(code, radix: 16)) k=\(operand)"
        }
    }
}
