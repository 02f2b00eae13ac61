import Foundation
import Testing

@testable import Sandbox

@Suite struct SeccompFilterFileTests {
    static func file(_ kinds: [String: String]) -> [UInt8] {
        Array(("{" + kinds.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ",") + "}").utf8)
    }

    static let complete: [String: String] = [
        "vcpu": #"["futex", {"syscall": "ioctl", "argument": 1, "values": ["KVM_RUN", "0x10", 7]}]"#,
        "api": #"["read"]"#, "device-io": #"["pread64"]"#, "main": "[]",
    ]

    func reason(_ kinds: [String: String]) -> String? {
        do {
            _ = try SeccompFilterFile.parse(Self.file(kinds), path: "f.json")
            return nil
        } catch {
            guard case .filterFile(let path, let reason) = error, path == "f.json" else { return "wrong error \(error)" }
            return reason
        }
    }

    @Test func aCompleteFileParsesToOneAllowlistPerKind() throws {
        let file = try SeccompFilterFile.parse(Self.file(Self.complete), path: "f.json")
        let kvmRun = try #require(IoctlRequest.value(named: "KVM_RUN"))
        #expect(file.allowlists[.vcpu] == Allowlist([.init("futex"), .call("ioctl", argument: 1, in: [kvmRun, 0x10, 7])]))
        #expect(file.allowlists[.api] == Allowlist([.init("read")]))
        #expect(file.allowlists[.main] == Allowlist([]))
    }

    @Test func everyKindMustBePresent() {
        var kinds = Self.complete
        kinds["device-io"] = nil
        #expect(reason(kinds)?.contains("no allowlist for 'device-io'") == true)
    }

    @Test func unknownKindsNamesAndKeysAreErrors() {
        var kinds = Self.complete
        kinds["vpcu"] = "[]"
        #expect(reason(kinds)?.contains("unknown thread kind 'vpcu'") == true)
        kinds = Self.complete
        kinds["api"] = #"["read", "raed"]"#
        #expect(reason(kinds)?.contains("unknown system call 'raed'") == true)
        kinds["api"] = #"[{"syscall": "ioctl", "argument": 1, "values": [1], "action": "allow"}]"#
        #expect(reason(kinds)?.contains("unknown key 'action'") == true)
        kinds["api"] = #"[{"syscall": "ioctl", "argument": 1, "values": ["KVM_FLY"]}]"#
        #expect(reason(kinds)?.contains("KVM_FLY") == true)
        kinds["api"] = #"[{"syscall": "ioctl", "argument": 9, "values": [1]}]"#
        #expect(reason(kinds)?.contains("argument 9") == true)
        kinds["api"] = #"[{"syscall": "ioctl", "argument": 1, "values": [-1]}]"#
        #expect(reason(kinds)?.contains("neither a number") == true)
        kinds["api"] = #"["read", "read"]"#
        #expect(reason(kinds)?.contains("more than once") == true)
        kinds["api"] = #"{"read": 1}"#
        #expect(reason(kinds)?.contains("must be an array") == true)
    }

    @Test func malformedDocumentsAreErrors() throws {
        #expect(throws: SeccompError.self) { try SeccompFilterFile.parse(Array("{".utf8), path: "f.json") }
        #expect(throws: SeccompError.self) { try SeccompFilterFile.parse(Array("[]".utf8), path: "f.json") }
    }

    @Test func theDebugVariableSelectsTheDeniedAction() throws {
        #expect(try SeccompPolicy.fromOptions(noSeccomp: false, filterFile: nil, environment: [:]).denied == .killProcess)
        #expect(try SeccompPolicy.fromOptions(noSeccomp: false, filterFile: nil, environment: ["SWIFTLET_SECCOMP_LOG": "1"]).denied == .trapAndReport)
        #expect(try SeccompPolicy.fromOptions(noSeccomp: false, filterFile: nil, environment: ["SWIFTLET_SECCOMP_LOG": "log"]).denied == .log)
        #expect(throws: SeccompError.badDebugSetting(variable: "SWIFTLET_SECCOMP_LOG", value: "yes")) {
            try SeccompPolicy.fromOptions(noSeccomp: false, filterFile: nil, environment: ["SWIFTLET_SECCOMP_LOG": "yes"])
        }
        #expect(try SeccompPolicy.fromOptions(noSeccomp: true, filterFile: "/nonexistent", environment: [:]).allowlists == nil)
        #expect(try SeccompPolicy.builtIn.filter(for: .vcpu) == SeccompFilter.forThread(.vcpu))
        #expect(try SeccompPolicy.disabled.filter(for: .vcpu) == nil)
    }
}
