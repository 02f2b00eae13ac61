import Foundation
import SwiftletCore
@testable import Machine
import Testing

@Suite("Snapshot state-file container")
struct SnapshotFileTests {
    let payload = Array(#"{"vcpus":[{"rip":4096}],"devices":{"serial":{"ier":1}}}"#.utf8)

    @Test func crc64MatchesTheXZCheckValue() {
        #expect(CRC64.checksum(Array("123456789".utf8)) == 0x995D_C9BB_DF19_39FA)
        #expect(CRC64.checksum([UInt8]()) == 0)
        // Streaming in pieces gives the same result as one pass.
        var crc = CRC64()
        crc.update(Array("1234".utf8))
        Array("56789".utf8).withUnsafeBytes { crc.update($0) }
        #expect(crc.value == 0x995D_C9BB_DF19_39FA)
    }

    @Test func layoutIsAsDocumented() {
        let bytes = SnapshotFile.encode(payload: [0xAA, 0xBB])
        #expect(bytes.count == 24 + 2 + 8)
        #expect(Array(bytes[0..<8]) == Array("SWLTSNAP".utf8))
        #expect(Array(bytes[8..<16]) == [1, 0, 0, 0, 0, 0, 0, 0])  // version 1, flags 0
        #expect(Array(bytes[16..<24]) == [2, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(bytes[24..<26]) == [0xAA, 0xBB])
        let crc = CRC64.checksum(bytes[0..<26])
        #expect(Array(bytes[26..<34]) == (0..<8).map { UInt8(truncatingIfNeeded: crc >> (8 * $0)) })
    }

    @Test(arguments: [0, 1, 1000, 70_000])
    func roundTrip(size: Int) throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/state"
        let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        try SnapshotFile.write(payload: data, to: path)
        #expect(try SnapshotFile.read(path: path) == data)
        #expect(try directory.entries() == ["state"])  // no temporary file left behind
        var status = stat()
        #expect(stat(path, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o600)
        // Overwriting replaces the contents.
        try SnapshotFile.write(payload: payload, to: path)
        #expect(try SnapshotFile.read(path: path) == payload)
    }

    @Test func wrongMagic() {
        var bytes = SnapshotFile.encode(payload: payload)
        bytes[0] = UInt8(ascii: "X")
        #expect(throws: kind(.wrongMagic)) { try SnapshotFile.decode(bytes) }
        #expect(throws: kind(.wrongMagic)) { try SnapshotFile.decode(Array("{\"json\": true}".utf8)) }
        #expect(throws: kind(.wrongMagic)) { try SnapshotFile.decode([0x7F]) }
    }

    @Test func unsupportedVersionAndFlags() {
        var bytes = SnapshotFile.encode(payload: payload)
        bytes[8] = 2
        #expect(throws: kind(.unsupportedVersion(2))) { try SnapshotFile.decode(bytes) }
        bytes = SnapshotFile.encode(payload: payload)
        bytes[15] = 0x80
        #expect(throws: kind(.unsupportedFlags(0x8000_0000))) { try SnapshotFile.decode(bytes) }
    }

    @Test func truncatedAtEveryLength() {
        let bytes = SnapshotFile.encode(payload: payload)
        for length in 0..<bytes.count {
            let prefix = Array(bytes[0..<length])
            do {
                _ = try SnapshotFile.decode(prefix)
                Issue.record("a \(length)-byte prefix of a \(bytes.count)-byte file was accepted")
            } catch {
                guard case .truncated(let expected, let actual) = error.kind else {
                    Issue.record("prefix of \(length) bytes: \(error.kind), expected .truncated")
                    continue
                }
                #expect(actual == UInt64(length))
                #expect(expected == (length < 24 ? 32 : UInt64(bytes.count)))
            }
        }
    }

    @Test func trailingBytesAreALengthMismatch() {
        let bytes = SnapshotFile.encode(payload: payload) + [0]
        #expect(throws: kind(.lengthMismatch(expectedBytes: UInt64(bytes.count - 1), actualBytes: UInt64(bytes.count)))) {
            try SnapshotFile.decode(bytes)
        }
    }

    @Test func hugeDeclaredLengthIsRefused() {
        var bytes = SnapshotFile.encode(payload: payload)
        bytes[23] = 0x01  // payload length += 2^56
        #expect(throws: SnapshotFileError.self) { try SnapshotFile.decode(bytes) }
        do {
            _ = try SnapshotFile.decode(bytes)
        } catch {
            guard case .payloadTooLarge = error.kind else { Issue.record("\(error.kind)"); return }
        }
    }

    @Test func everySingleBitFlipIsDetected() {
        let bytes = SnapshotFile.encode(payload: payload)
        var checksumFailures = 0
        for bit in 0..<(bytes.count * 8) {
            var corrupted = bytes
            corrupted[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
            do {
                let decoded = try SnapshotFile.decode(corrupted)
                Issue.record("flipping bit \(bit) went unnoticed; decoded \(decoded.count) bytes")
            } catch {
                if case .checksumMismatch = error.kind { checksumFailures += 1 }
            }
        }
        // Flips in the payload and in the checksum itself are caught by the CRC (the header
        // fields have their own checks).
        #expect(checksumFailures >= (payload.count + 8) * 8)
    }

    @Test func readReportsFileErrors() throws {
        let directory = try TemporaryDirectory()
        #expect(throws: SnapshotFileError.self) { try SnapshotFile.read(path: directory.path + "/missing") }
        do {
            _ = try SnapshotFile.read(path: directory.path + "/missing")
        } catch {
            guard case .unreadable(let cause) = error.kind else { Issue.record("\(error.kind)"); return }
            #expect(cause.reason == .notFound)
            #expect(error.description.contains(directory.path + "/missing"))
        }
        let truncatedPath = directory.path + "/truncated"
        try Data(SnapshotFile.encode(payload: payload).dropLast(3)).write(to: URL(fileURLWithPath: truncatedPath))
        #expect(throws: SnapshotFileError(.truncated(expectedBytes: UInt64(24 + payload.count + 8), actualBytes: UInt64(24 + payload.count + 5)), path: truncatedPath)) {
            try SnapshotFile.read(path: truncatedPath)
        }
    }

    @Test func readRefusesAFIFOAndAnOversizedFile() throws {
        let directory = try TemporaryDirectory()
        let fifo = directory.path + "/fifo"
        try #require(mkfifo(fifo, 0o600) == 0)
        // Opening a FIFO with no writer would block a plain reader forever.
        #expect(throws: SnapshotFileError(.unreadable(HostFileError(what: "snapshot state", path: fifo, reason: .notRegularFile)), path: fifo)) {
            try SnapshotFile.read(path: fifo)
        }
        let huge = directory.path + "/huge"
        let fd = open(huge, O_RDWR | O_CREAT, 0o600)
        try #require(fd >= 0)
        #expect(ftruncate(fd, off_t(SnapshotFile.maxPayloadBytes) + 33) == 0)
        close(fd)
        do {
            _ = try SnapshotFile.read(path: huge)
            Issue.record("an oversized state file was read")
        } catch {
            guard case .unreadable(let cause) = error.kind, case .tooLarge = cause.reason else { Issue.record("\(error.kind)"); return }
        }
    }

    struct WriterFailed: Error {}

    @Test func failedAtomicWriteLeavesNoFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/memory"
        #expect(throws: WriterFailed.self) {
            try SnapshotFile.atomicWrite(path: path) { fd in
                _ = Glibc.write(fd, "partial", 7)
                throw WriterFailed()
            }
        }
        #expect(try directory.entries().isEmpty)

        // An existing file keeps its old contents when the replacement fails.
        try SnapshotFile.write(payload: payload, to: path)
        #expect(throws: WriterFailed.self) {
            try SnapshotFile.atomicWrite(path: path) { _ in throw WriterFailed() }
        }
        #expect(try SnapshotFile.read(path: path) == payload)
        #expect(try directory.entries() == ["memory"])
    }

    @Test func atomicWriteStreamsThroughTheDescriptor() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/memory"
        let page = [UInt8](repeating: 0x5A, count: 4096)
        let returned = try SnapshotFile.atomicWrite(path: path) { fd in
            // A sparse file: one page at 1 MiB, like guest RAM with holes.
            guard ftruncate(fd, 2 << 20) == 0 else { throw WriterFailed() }
            let written = page.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 1 << 20) }
            guard written == page.count else { throw WriterFailed() }
            return written
        }
        #expect(returned == 4096)
        let contents = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(contents.count == 2 << 20)
        #expect(Array(contents[(1 << 20)..<((1 << 20) + 4096)]) == page)
        #expect(contents[0] == 0)
    }

    @Test func atomicWriteIntoAMissingDirectoryFails() {
        #expect(throws: SnapshotFileError.self) {
            try SnapshotFile.write(payload: [1], to: "/tmp/swlt-missing-\(getpid())/dir/state")
        }
    }

    @Test func pathSplitting() {
        #expect(SnapshotFile.split("state") == (".", "state"))
        #expect(SnapshotFile.split("/state") == ("/", "state"))
        #expect(SnapshotFile.split("a/b/state") == ("a/b", "state"))
    }

    private func kind(_ expected: SnapshotFileError.Kind) -> SnapshotFileError {
        SnapshotFileError(expected, path: "snapshot state")
    }
}

/// A fresh directory under /tmp, removed with its contents afterwards.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/swlt-snap-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }
        guard let created else { throw CocoaError(.fileWriteUnknown) }
        path = String(cString: created)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func entries() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).sorted()
    }
}
