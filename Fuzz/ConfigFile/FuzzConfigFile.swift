// libFuzzer target: Firecracker-style JSON configuration files (`--config-file`).
import ControlAPI

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = try? FirecrackerConfigFile(parsing: [UInt8](UnsafeBufferPointer(start: data, count: size)))
    return 0
}
