import CSandbox

/// A seccomp filter program: classic BPF, checked to be one the kernel accepts.
public struct BPFProgram: Sendable, Equatable {
    public let instructions: [BPFInstruction]

    public init(_ instructions: [BPFInstruction]) {
        self.instructions = instructions
    }

    /// The kernel's limit on instructions per filter.
    public static let maximumLength = Int(CSANDBOX_BPF_MAXINSNS)

    /// Why a program is not well formed, or nil when every path ends in a return within the
    /// program, which is what the kernel's checker (`sk_chk_filter`) demands.
    public var structuralProblem: String? {
        guard !instructions.isEmpty else { return "the program is empty" }
        guard instructions.count <= Self.maximumLength else {
            return "\(instructions.count) instructions, more than \(Self.maximumLength)"
        }
        for (index, instruction) in instructions.enumerated() {
            for offset in instruction.successorOffsets where index + offset >= instructions.count {
                return "instruction \(index) (\(instruction)) jumps past the end"
            }
        }
        guard instructions.last?.isReturn == true else { return "the last instruction is not a return" }
        return nil
    }

    /// The program as `struct sock_filter` values, for `seccomp(2)`.
    var kernelForm: [sock_filter] { instructions.map(\.kernelForm) }
}
