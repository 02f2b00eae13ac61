import ControlAPI
import SwiftletCore

/// `--net tap=NAME[,mac=02:..][,id=NAME]`, parsed as the user typed it.
struct NetOption: Sendable, Equatable {
    var tap: String
    var mac: MACAddress?
    var id: String?

    static let valueName = "tap=NAME[,mac=MAC][,id=NAME]"

    /// Parses one `--net` value; the error names the part that is wrong.
    init(parsing argument: String) throws(NetOptionError) {
        var tap: String?
        for part in argument.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            guard let equals = part.firstIndex(of: "=") else { throw NetOptionError("'\(part)' is not KEY=VALUE; expected tap=, mac= or id=") }
            let key = String(part[..<equals])
            let value = String(part[part.index(after: equals)...])
            guard !value.isEmpty else { throw NetOptionError("'\(key)=' needs a value") }
            switch key {
            case "tap":
                guard tap == nil else { throw NetOptionError("'tap=' is given twice") }
                tap = value
            case "mac":
                guard mac == nil else { throw NetOptionError("'mac=' is given twice") }
                guard let address = MACAddress(value) else { throw NetOptionError("'\(value)' is not a MAC address like 02:00:00:00:00:01") }
                mac = address
            case "id":
                guard id == nil else { throw NetOptionError("'id=' is given twice") }
                id = value
            default:
                throw NetOptionError("unknown part '\(part)'; expected tap=, mac= or id=")
            }
        }
        guard let tap else { throw NetOptionError("'tap=NAME' is required") }
        self.tap = tap
    }

    /// Interfaces without an id are named like a Linux guest numbers them: eth0, eth1, ...
    static func interfaces(_ options: [NetOption]) -> [NetworkInterface] {
        options.enumerated().map { index, option in
            NetworkInterface(interfaceID: option.id ?? "eth\(index)", hostDeviceName: option.tap, guestMAC: option.mac)
        }
    }
}

/// What is wrong with a `--net` value; ArgumentParser prints it after the value itself.
struct NetOptionError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
