// libFuzzer target: the API's request router and body decoders. The input is a method
// selector byte, then the request target up to a newline, then the body.
@testable import ControlAPI

private let methods = ["GET", "PUT", "PATCH", "POST", "DELETE", "HEAD", "get", ""]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAPIRouter(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = [UInt8](UnsafeBufferPointer(start: data, count: size))
    guard let selector = input.first else { return 0 }
    let rest = input.dropFirst()
    let newline = rest.firstIndex(of: 0x0A) ?? rest.endIndex
    let target = String(decoding: rest[rest.startIndex..<newline], as: UTF8.self)
    let body = Array(rest[newline...].dropFirst())
    _ = try? APIRouter.route(method: methods[Int(selector) % methods.count], target: target, body: body)
    return 0
}

// SwiftPM links an executable's entry as `<module>_main` and aliases `main` to it, so
// libFuzzer's own `main` is never pulled in: this entry hands over to its driver.
@_silgen_name("LLVMFuzzerRunDriver")
private func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("fuzz_APIRouter_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return runFuzzerDriver(&count, &arguments) { fuzzAPIRouter($0, $1) }
}
