import ControlAPI
import SwiftletCore

/// `--vsock cid=N,uds=PATH`, parsed as the user typed it.
struct VsockOption: Sendable, Equatable {
    var guestCID: UInt64
    var udsPath: String

    static let valueName = "cid=N,uds=PATH"

    /// Parses the `--vsock` value; the error names the part that is wrong.
    init(parsing argument: String) throws(VsockOptionError) {
        var cid: UInt64?
        var uds: String?
        for part in argument.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            guard let equals = part.firstIndex(of: "=") else { throw VsockOptionError("'\(part)' is not KEY=VALUE; expected cid= or uds=") }
            let key = String(part[..<equals])
            let value = String(part[part.index(after: equals)...])
            guard !value.isEmpty else { throw VsockOptionError("'\(key)=' needs a value") }
            switch key {
            case "cid":
                guard cid == nil else { throw VsockOptionError("'cid=' is given twice") }
                guard let number = UInt64(value) else { throw VsockOptionError("'\(value)' is not a CID (a number, 3 or more)") }
                do { try MachineLimits.checkVsockGuestCID(number, field: "cid") } catch { throw VsockOptionError("\(error)") }
                cid = number
            case "uds":
                guard uds == nil else { throw VsockOptionError("'uds=' is given twice") }
                uds = value
            default:
                throw VsockOptionError("unknown part '\(part)'; expected cid= or uds=")
            }
        }
        guard let cid else { throw VsockOptionError("'cid=N' is required") }
        guard let uds else { throw VsockOptionError("'uds=PATH' is required") }
        guestCID = cid
        udsPath = uds
    }

    var device: VsockDevice { VsockDevice(guestCID: guestCID, udsPath: udsPath) }
}

/// What is wrong with a `--vsock` value; ArgumentParser prints it after the value itself.
struct VsockOptionError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
