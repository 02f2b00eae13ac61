import CSandbox
import Testing

@testable import Sandbox

@Suite struct SeccompProgramBuilderTests {
    static let allow = CSANDBOX_SECCOMP_RET_ALLOW
    static let kill = CSANDBOX_SECCOMP_RET_KILL_PROCESS

    func number(_ name: String) throws -> UInt32 { try #require(SystemCallTable.number(of: name)) }

    @Test func startsByCheckingTheArchitectureAndKillingOnMismatch() throws {
        let program = try SeccompFilter.forThread(.vcpu).program
        #expect(program.instructions[0] == .load(offset: CSANDBOX_SECCOMP_DATA_ARCH))
        #expect(program.instructions[1] == .jump(ifEqual: CSANDBOX_AUDIT_ARCH_X86_64, ifTrue: 1, ifFalse: 0))
        #expect(program.instructions[2] == .return(Self.kill))
        #expect(program.instructions[3] == .load(offset: CSANDBOX_SECCOMP_DATA_NR))
    }

    @Test(arguments: ThreadKind.allCases, DeniedAction.allCases)
    func everyBuiltInFilterIsWellFormed(kind: ThreadKind, denied: DeniedAction) throws {
        let program = try SeccompFilter.forThread(kind, denied: denied).program
        #expect(program.structuralProblem == nil)
        let conditional = program.instructions.filter { $0.code == BPFInstruction.jumpIfEqual }
        #expect(conditional.allSatisfy { $0.jumpIfTrue <= 3 && $0.jumpIfFalse <= 3 })
    }

    @Test func aForeignArchitectureIsKilledEvenInTheLoggingMode() throws {
        let program = try SeccompFilter.forThread(.main, denied: .log).program
        var call = BPFInterpreter(number: try number("read"))
        #expect(try call.run(program) == Self.allow)
        call.architecture = 0x4000_0003  // AUDIT_ARCH_I386
        #expect(try call.run(program) == Self.kill)
    }

    @Test(arguments: DeniedAction.allCases)
    func unlistedCallsGetTheDeniedAction(denied: DeniedAction) throws {
        let program = try SeccompFilter.forThread(.vcpu, denied: denied).program
        #expect(try BPFInterpreter(number: try number("futex")).run(program) == Self.allow)
        #expect(try BPFInterpreter(number: try number("openat")).run(program) == denied.seccompReturn)
        #expect(try BPFInterpreter(number: try number("execve")).run(program) == denied.seccompReturn)
    }

    @Test func x32NumbersOfAllowedCallsAreDenied() throws {
        let program = try SeccompFilter.forThread(.vcpu).program
        #expect(try BPFInterpreter(number: try number("write") | 0x4000_0000).run(program) == Self.kill)
    }

    @Test func vcpuIoctlsAreCheckedByRequestNumber() throws {
        let program = try SeccompFilter.forThread(.vcpu).program
        let ioctl = try number("ioctl")
        func request(_ value: UInt64) throws -> UInt32 {
            try BPFInterpreter(number: ioctl, arguments: [5, value, 0, 0, 0, 0]).run(program)
        }
        #expect(try request(try #require(IoctlRequest.value(named: "KVM_RUN"))) == Self.allow)
        #expect(try request(try #require(IoctlRequest.value(named: "KVM_SIGNAL_MSI"))) == Self.allow)
        #expect(try request(try #require(IoctlRequest.value(named: "KVM_CREATE_VM"))) == Self.kill)
        #expect(try request(try #require(IoctlRequest.value(named: "KVM_SET_USER_MEMORY_REGION"))) == Self.kill)
        // The high word takes part in the comparison: no aliasing of a 64-bit argument.
        #expect(try request(try #require(IoctlRequest.value(named: "KVM_RUN")) | 1 << 32) == Self.kill)
    }

    @Test func theMainListAllowsOnlyUnixSockets() throws {
        let program = try SeccompFilter.forThread(.main).program
        let socket = try number("socket")
        #expect(try BPFInterpreter(number: socket, arguments: [1, 1, 0, 0, 0, 0]).run(program) == Self.allow)
        #expect(try BPFInterpreter(number: socket, arguments: [2, 1, 0, 0, 0, 0]).run(program) == Self.kill)
    }

    /// Every system call the host knows, plus a call with a 200-value condition: far past any
    /// 8-bit jump offset, yet every conditional jump stays short and every entry is reachable.
    @Test func aVeryLongListStaysWithinClassicBPFsJumpRange() throws {
        let names = SystemCallTable.namesByNumber.compactMap { $0 }.filter { $0 != "ioctl" }
        let values = (0..<200).map { UInt64($0) * 0x1_0000_0001 }
        let allowlist = Allowlist(names.map { SystemCallRule($0) } + [.call("ioctl", argument: 1, in: values)])
        let program = try SeccompProgramBuilder.build(allowlist, kind: .main, denied: .killProcess)
        #expect(program.instructions.count > 1000)
        #expect(program.structuralProblem == nil)
        for name in names {
            #expect(try BPFInterpreter(number: try number(name)).run(program) == Self.allow, "\(name)")
        }
        let ioctl = try number("ioctl")
        for value in [values[0], values[199], values[100]] {
            #expect(try BPFInterpreter(number: ioctl, arguments: [0, value, 0, 0, 0, 0]).run(program) == Self.allow)
        }
        #expect(try BPFInterpreter(number: ioctl, arguments: [0, 7, 0, 0, 0, 0]).run(program) == Self.kill)
        #expect(try BPFInterpreter(number: 999).run(program) == Self.kill)
    }

    @Test func aProgramOverTheKernelsLimitIsRefused() {
        let allowlist = Allowlist([.call("ioctl", argument: 1, in: (0..<1000).map(UInt64.init))])
        #expect(throws: SeccompError.programTooLong(kind: .vcpu, instructions: 5008, limit: 4096)) {
            try SeccompProgramBuilder.build(allowlist, kind: .vcpu, denied: .killProcess)
        }
    }

    @Test func badAllowlistsAreRefusedWithTheirReason() {
        #expect(throws: SeccompError.unknownSystemCall(kind: .api, name: "frobnicate")) {
            try Allowlist([.init("read"), .init("frobnicate")]).validate(kind: .api)
        }
        #expect(throws: SeccompError.duplicateSystemCall(kind: .api, name: "read")) {
            try Allowlist([.init("read"), .init("write"), .init("read")]).validate(kind: .api)
        }
        #expect(throws: SeccompError.badArgumentIndex(kind: .vcpu, name: "ioctl", index: 6)) {
            try Allowlist([.call("ioctl", argument: 6, in: [1])]).validate(kind: .vcpu)
        }
        #expect(throws: SeccompError.noArgumentValues(kind: .vcpu, name: "ioctl")) {
            try Allowlist([.call("ioctl", argument: 1, in: [])]).validate(kind: .vcpu)
        }
    }

    @Test func theStructuralCheckCatchesJumpsPastTheEnd() {
        #expect(BPFProgram([.load(offset: 0), .jump(ifEqual: 1, ifTrue: 0, ifFalse: 2), .return(0)]).structuralProblem != nil)
        #expect(BPFProgram([.load(offset: 0), .jump(over: 5), .return(0)]).structuralProblem != nil)
        #expect(BPFProgram([.load(offset: 0)]).structuralProblem != nil)
        #expect(BPFProgram([]).structuralProblem != nil)
        #expect(BPFProgram([.load(offset: 0), .jump(ifEqual: 1, ifTrue: 0, ifFalse: 1), .return(0), .return(1)]).structuralProblem == nil)
    }
}
