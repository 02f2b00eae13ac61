import CKVM
import Foundation
import Testing
@testable import KVM

/// Whether this host has a usable KVM device; the wrappers are only testable against one.
let kvmAvailable = access("/dev/kvm", R_OK | W_OK) == 0

@Suite(.enabled(if: kvmAvailable, "needs read-write access to /dev/kvm"))
struct KVMSystemTests {
    @Test func opensTheSystemAndChecksTheStableAPI() throws {
        let system = try KVMSystem()
        #expect(system.path == "/dev/kvm")
        #expect(ioctl(system.fd, CKVM_GET_API_VERSION) == 12)
    }

    @Test func reportsCapabilities() throws {
        let system = try KVMSystem()
        for (capability, name) in KVMSystem.requiredCapabilities {
            #expect(system.checkExtension(capability) > 0, "\(name)")
        }
        // An unknown capability number is simply absent, not an error.
        #expect(system.checkExtension(Int32.max) == 0)
        #expect(try system.vcpuMmapSize() >= MemoryLayout<kvm_run>.size)
    }

    @Test func listsSupportedCPUIDAndMSRs() throws {
        let system = try KVMSystem()
        let cpuid = try system.supportedCPUID()
        #expect(cpuid.contains { $0.function == 0 }, "leaf 0 (vendor and highest leaf) is always there")
        #expect(cpuid.contains { $0.function == 1 })
        let msrs = try system.msrIndexList()
        #expect(msrs.contains(0x10), "IA32_TIME_STAMP_COUNTER is saved by every KVM")
    }

    @Test func aMissingDeviceIsExplained() {
        #expect(throws: KVMError.deviceMissing(path: "/nonexistent/kvm")) { try KVMSystem(path: "/nonexistent/kvm") }
        let description = KVMError.deviceMissing(path: "/nonexistent/kvm").description
        #expect(description.contains("load the kvm module"))
    }

    @Test func aDeviceThatIsNotKVMIsExplained() throws {
        do {
            _ = try KVMSystem(path: "/dev/null")
            Issue.record("/dev/null was taken for KVM")
        } catch {
            guard case .notKVM(let path, let code) = error else { Issue.record("\(error)"); return }
            #expect(path == "/dev/null")
            #expect(code == ENOTTY)
            #expect(error.description.contains("/dev/null is not a KVM device"))
            #expect(error.description.contains(String(cString: strerror(ENOTTY))))
        }
    }
}

@Test func systemCallErrorsNameTheOperationAndTheErrno() {
    let error = KVMError.systemCall(operation: "KVM_CREATE_VM", errno: EINVAL)
    #expect(error.description == "KVM_CREATE_VM failed: Invalid argument (errno \(EINVAL))")
}
