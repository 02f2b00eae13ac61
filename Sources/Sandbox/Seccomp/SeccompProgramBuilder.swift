import CSandbox

/// Turns an allowlist into a BPF program:
///
///     ld arch; jeq AUDIT_ARCH_X86_64 ? skip : kill process     (always kill: numbers differ per ABI)
///     ld nr
///     per rule:  jeq nr ? next : skip 1;  ret ALLOW            (a plain rule)
///                jeq nr ? next : skip 1;  ja <its check>       (a rule with an argument condition)
///     ret DENIED
///     per argument check, per value:  ld arg.hi; jeq hi ? next : skip 3; ld arg.lo; jeq lo ? next : skip 1; ret ALLOW
///                                     ret DENIED
///
/// A linear search, so every conditional jump skips at most 3 instructions whatever the list's
/// length; the only long jumps are `ja`, whose offset is 32 bits. Classic BPF's 8-bit
/// conditional offsets are never at risk. Numbers with the x32 bit (0x40000000) never equal an
/// allowed number, so x32 calls are denied.
public enum SeccompProgramBuilder {
    public static func build(_ allowlist: Allowlist, kind: ThreadKind, denied: DeniedAction) throws(SeccompError) -> BPFProgram {
        try allowlist.validate(kind: kind)
        let allow = BPFInstruction.return(CSANDBOX_SECCOMP_RET_ALLOW)
        let deny = BPFInstruction.return(denied.seccompReturn)

        var program: [BPFInstruction] = [
            .load(offset: CSANDBOX_SECCOMP_DATA_ARCH),
            .jump(ifEqual: CSANDBOX_AUDIT_ARCH_X86_64, ifTrue: 1, ifFalse: 0),
            .return(CSANDBOX_SECCOMP_RET_KILL_PROCESS),
            .load(offset: CSANDBOX_SECCOMP_DATA_NR),
        ]
        // Each `ja` is patched once the argument checks' positions are known.
        var pendingJumps: [(jumpIndex: Int, condition: SystemCallRule.ArgumentCondition)] = []
        for rule in allowlist.rules {
            // validate() has checked every name.
            let number = SystemCallTable.number(of: rule.name) ?? 0
            program.append(.jump(ifEqual: number, ifTrue: 0, ifFalse: 1))
            if let condition = rule.condition {
                pendingJumps.append((program.count, condition))
                program.append(.jump(over: 0))
            } else {
                program.append(allow)
            }
        }
        program.append(deny)

        for (jumpIndex, condition) in pendingJumps {
            program[jumpIndex] = .jump(over: UInt32(program.count - jumpIndex - 1))
            let low = CSANDBOX_SECCOMP_DATA_ARGS + UInt32(condition.index) * 8
            for value in condition.allowedValues {
                program += [
                    .load(offset: low + 4),
                    .jump(ifEqual: UInt32(truncatingIfNeeded: value >> 32), ifTrue: 0, ifFalse: 3),
                    .load(offset: low),
                    .jump(ifEqual: UInt32(truncatingIfNeeded: value), ifTrue: 0, ifFalse: 1),
                    allow,
                ]
            }
            program.append(deny)
        }

        guard program.count <= BPFProgram.maximumLength else {
            throw .programTooLong(kind: kind, instructions: program.count, limit: BPFProgram.maximumLength)
        }
        return BPFProgram(program)
    }
}
