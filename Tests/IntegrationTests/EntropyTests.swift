import Foundation
import Testing

/// `--entropy` (and PUT /entropy's device) on a real VM: it boots, is announced on
/// virtio-mmio, and survives a snapshot and restore on either transport.
@Suite struct EntropyTests {
    @Test(arguments: ["pci", "mmio"])
    func anEntropyDeviceSurvivesSnapshotAndRestore(transport: String) throws {
        let vm = try HardeningTests.countingVM(["--entropy", "--transport", transport], name: "rng-\(transport)")
        let config = try vm.curl("GET", "/vm/config")
        #expect(config.body.contains(#""entropy":{"rate_limiter":null}"#), "\(config.body)")
        let state = vm.file("rng.state"), memory = vm.file("rng.mem")
        #expect(try vm.curl("PATCH", "/vm", #"{"state": "Paused"}"#).status == 204)
        let create = try vm.curl("PUT", "/snapshot/create", HardeningTests.snapshotBody(state, memory))
        #expect(create.status == 204, "\(create.body)")
        _ = vm.stop()
        let saved = String(decoding: try Data(contentsOf: URL(fileURLWithPath: state)), as: UTF8.self)
        #expect(saved.contains("virtio-rng:entropy"), "the device's state is in the snapshot")
        #expect(saved.contains("virtio-\(transport):"), "and its transport's")

        let restored = try RunningSwiftlet(["--restore", state, "--mem-file", memory], name: "rng-restored-\(transport)")
        try waitUntil(timeout: 20, "the restored guest to count") { restored.counts.count >= 2 }
    }

    @Test func entropyNeedsAKernel() throws {
        let result = try SwiftletProcess.run(["run", "--entropy", "--api-sock", "/tmp/swiftlet-unused.sock"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--entropy need --kernel"), "\(result.stderr)")
    }
}
