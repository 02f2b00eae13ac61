// libFuzzer target: the snapshot state file decoder: the container (magic, version, length,
// CRC) and then, whatever the CRC says, the payload as the JSON a restore decodes and checks.
import Foundation
@testable import Machine

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSnapshotState(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = [UInt8](UnsafeBufferPointer(start: data, count: size))
    _ = try? SnapshotFile.decode(input)
    // A valid container around the input, so the JSON decoder and the checks behind it see
    // every input, not only those with a matching CRC.
    let path = "/dev/shm/swiftlet-fuzz-state-\(getpid())"
    if (try? SnapshotFile.write(payload: input, to: path)) != nil {
        _ = try? Machine.readSnapshot(path)
    }
    return 0
}

// SwiftPM links an executable's entry as `<module>_main` and aliases `main` to it, so
// libFuzzer's own `main` is never pulled in: this entry hands over to its driver.
@_silgen_name("LLVMFuzzerRunDriver")
private func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("fuzz_SnapshotState_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return runFuzzerDriver(&count, &arguments) { fuzzSnapshotState($0, $1) }
}
