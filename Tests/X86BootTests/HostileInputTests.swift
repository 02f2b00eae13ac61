import GuestMemory
import SwiftletCore
import Testing
@testable import X86Boot

/// Whatever the bytes, `prepare` throws a KernelImageError or succeeds; it never traps.
@Suite struct HostileInputTests {
    let memory = try! lowRAM(32 << 20)

    @Test func emptyFileIsReported() {
        #expect(throws: KernelImageError.emptyFile) {
            try LinuxBoot.prepare(memory: memory, kernel: [], initrd: nil, commandLine: "")
        }
    }

    @Test func randomBytesAreNotAKernel() {
        var generator = SplitMix64(state: 1)
        for round in 0..<200 {
            let length = Int.random(in: 1...0x2000, using: &generator)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if bytes.starts(with: [0x7F]) { bytes[0] = 0 }  // the ELF magic prefix is a different story
            #expect(throws: KernelImageError.self, "round \(round)") {
                try LinuxBoot.prepare(memory: memory, kernel: bytes, initrd: nil, commandLine: "")
            }
        }
    }

    /// Mutates valid images a few bytes at a time: the parsers see plausible headers with
    /// absurd fields, the paths random bytes never reach.
    @Test(arguments: [0, 1])
    func mutatedImagesNeverTrap(kind: Int) {
        let original = kind == 0 ? SyntheticBzImage().bytes : SyntheticElf().bytes
        let hotZone = kind == 0 ? 0x1F0..<0x270 : 0..<176
        var generator = SplitMix64(state: UInt64(kind) + 42)
        var loaded = 0
        for _ in 0..<2000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                bytes[Int.random(in: hotZone, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            if Bool.random(using: &generator) {
                bytes.removeLast(Int.random(in: 0..<bytes.count, using: &generator))
            }
            do {
                _ = try LinuxBoot.prepare(memory: memory, kernel: bytes, initrd: [1, 2, 3], commandLine: "x")
                loaded += 1
            } catch {
                // Refusing the image is fine; a write the checks had allowed failing is a loader bug.
                if case .loadFailed = error { Issue.record("unexpected error \(error)") }
            }
        }
        // Some mutations leave the image valid; if none do, the mutation is too coarse to test much.
        #expect(loaded > 0)
    }

    @Test func errorsDescribeTheProblem() {
        #expect(KernelImageError.truncated(.programHeader(3), needed: 300, available: 200).description.contains("ELF program header 3"))
        #expect(KernelImageError.bootProtocolTooOld(version: 0x0205).description.contains("2.05"))
        #expect(KernelImageError.no64BitEntry(version: 0x020C, xloadflags: 2).description.contains("XLF_KERNEL_64"))
        #expect(KernelImageError.notAKernel.description.contains("HdrS"))
        #expect(KernelImageError.commandLineTooLong(length: 3000, limit: 2048).description.contains("2048"))
    }
}
