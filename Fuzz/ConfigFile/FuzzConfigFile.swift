// libFuzzer target: Firecracker-style JSON configuration files (`--config-file`).
import ControlAPI

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = try? FirecrackerConfigFile(parsing: [UInt8](UnsafeBufferPointer(start: data, count: size)))
    return 0
}

// SwiftPM links an executable's entry as `<module>_main` and aliases `main` to it, so
// libFuzzer's own `main` is never pulled in: this entry hands over to its driver.
@_silgen_name("LLVMFuzzerRunDriver")
private func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("fuzz_ConfigFile_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return runFuzzerDriver(&count, &arguments) { fuzzConfigFile($0, $1) }
}
