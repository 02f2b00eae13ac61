import Foundation
import Testing

/// `test=chaos`: a guest that writes random values to ports, the virtio device's BAR, PCI
/// configuration space and a live virtqueue for a minute. Swiftlet must not crash or hang,
/// must keep its RSS within 8 MiB of where it started, and its API must keep answering.
@Suite(.serialized) struct ChaosTests {
    static let seconds = Int(ProcessInfo.processInfo.environment["SWIFTLET_CHAOS_SECONDS"] ?? "") ?? 60
    static let rssBound = 8 << 20

    static func residentBytes(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return nil }
        return line.split(separator: " ").compactMap { Int($0) }.first.map { $0 << 10 }
    }

    /// The console holds whatever the chaos sent to the UART: decode it leniently.
    static func console(_ vm: RunningSwiftlet) -> String {
        String(decoding: FileManager.default.contents(atPath: vm.consolePath) ?? Data(), as: UTF8.self)
    }

    @Test func aHostileGuestGetsNothing() throws {
        let disk = try DiskTests.makeDisk("chaos")
        defer { try? FileManager.default.removeItem(at: disk) }
        let seed = UInt32.random(in: 1...UInt32.max)
        let vm = try RunningSwiftlet(["--kernel", try TestGuest.path(), "--cmdline", "test=chaos seed=\(seed) seconds=\(Self.seconds)", "--disk", disk.path])
        try waitUntil(timeout: 20, "the chaos guest to start") { Self.console(vm).contains("chaos: seed") }
        let pid = vm.process.processIdentifier
        // The first seconds fault in what any guest touches; growth after that is what counts.
        Thread.sleep(forTimeInterval: 2)
        let start = try #require(Self.residentBytes(pid))
        var peak = start
        let deadline = Date().addingTimeInterval(Double(Self.seconds) + 60)
        while !Self.console(vm).contains("chaos: done") && vm.process.isRunning && Date() < deadline {
            let answer = try vm.curl("GET", "/")
            #expect(answer.status == 200, "the API stopped answering (seed \(seed))")
            peak = max(peak, Self.residentBytes(pid) ?? peak)
            Thread.sleep(forTimeInterval: 2)
        }
        #expect(vm.process.isRunning, "swiftlet ended during chaos (seed \(seed)): \(vm.stop().stderr)")
        // Whether the guest itself survives its chaos is not the point (it can wedge its own
        // timer or driver); Swiftlet's answers are. Say so when it happens.
        if !Self.console(vm).contains("chaos: done") { print("chaos: the guest did not finish (seed \(seed)); Swiftlet did") }
        #expect(peak - start < Self.rssBound, "RSS grew \(peak - start) bytes (seed \(seed))")
        #expect(try vm.curl("PATCH", "/vm", #"{"state": "Paused"}"#).status == 204)
        #expect(try vm.curl("GET", "/").body.contains("Paused"))
        let (status, stderr) = vm.stop()
        #expect(!stderr.contains("Fatal error"), "\(stderr.suffix(2000))")
        _ = status
    }
}
