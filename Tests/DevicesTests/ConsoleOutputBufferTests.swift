#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Testing
@testable import Devices

@Suite struct ConsoleOutputBufferTests {
    /// A pipe nobody reads: writes return at once, the excess is counted, nothing blocks.
    @Test func aFullPipeDropsAndCountsInsteadOfBlocking() throws {
        signal(SIGPIPE, SIG_IGN)  // the blocked writer sees EPIPE once the test closes the pipe
        var ends: [Int32] = [0, 0]
        let created = pipe(&ends)
        try #require(created == 0)
        defer { close(ends[0]); close(ends[1]) }
        // Fill the pipe first, so the writer's very first write(2) blocks.
        let flags = fcntl(ends[1], F_GETFL)
        _ = fcntl(ends[1], F_SETFL, flags | O_NONBLOCK)
        let filler = [UInt8](repeating: 0x2E, count: 4096)
        while (filler.withUnsafeBytes { write(ends[1], $0.baseAddress, $0.count) }) > 0 {}
        _ = fcntl(ends[1], F_SETFL, flags)
        let output = ConsoleOutputBuffer(fd: ends[1], capacity: 1024)
        let chunk = [UInt8](repeating: 0x41, count: 4096)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            // 4 MiB: far more than the pipe (64 KiB) plus the buffer hold.
            for _ in 0..<1024 { output.write(chunk) }
            done.signal()
        }
        #expect(done.wait(timeout: .now() + 10) == .success, "write blocked on a full pipe")
        #expect(output.droppedBytes > 3 << 20)
        #expect(!output.finish(timeout: .milliseconds(200)), "the pipe is still full")
    }

    @Test func everythingArrivesWhenTheReaderKeepsUp() throws {
        var ends: [Int32] = [0, 0]
        let created = pipe(&ends)
        try #require(created == 0)
        defer { close(ends[0]) }
        let output = ConsoleOutputBuffer(fd: ends[1])
        let message = Array("hello, console\n".utf8)
        for byte in message { output.write([byte]) }
        #expect(output.finish())
        close(ends[1])
        var received = [UInt8](repeating: 0, count: 64)
        let count = received.withUnsafeMutableBytes { read(ends[0], $0.baseAddress, $0.count) }
        #expect(Array(received.prefix(max(0, count))) == message)
        #expect(output.droppedBytes == 0)
    }

    @Test func aClosedReaderSilencesTheConsole() throws {
        signal(SIGPIPE, SIG_IGN)
        var ends: [Int32] = [0, 0]
        let created = pipe(&ends)
        try #require(created == 0)
        close(ends[0])
        defer { close(ends[1]) }
        let output = ConsoleOutputBuffer(fd: ends[1])
        output.write([1, 2, 3])
        #expect(output.finish())
        output.write([4, 5])
        #expect(output.droppedBytes == 5)
    }
}
