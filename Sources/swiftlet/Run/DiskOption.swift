import ArgumentParser
import Machine

/// `--disk PATH[,ro][,id=NAME]`, parsed as the user typed it.
struct DiskOption: ExpressibleByArgument, Sendable {
    var path: String
    var readOnly = false
    var id: String?

    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first, !first.isEmpty else { return nil }
        path = first
        for part in parts.dropFirst() {
            if part == "ro" {
                readOnly = true
            } else if part.hasPrefix("id="), part.count > 3, part.count <= 20 {
                id = String(part.dropFirst(3))
            } else {
                return nil
            }
        }
    }

    static var defaultValueDescription: String { "PATH[,ro][,id=NAME]" }

    /// Disks without an id are named like the guest will see them: vda, vdb, ...
    static func configurations(_ options: [DiskOption]) -> [DiskConfiguration] {
        options.enumerated().map { index, option in
            let letter = Character(UnicodeScalar(UInt8(ascii: "a") + UInt8(index % 26)))
            return DiskConfiguration(path: option.path, readOnly: option.readOnly, id: option.id ?? "vd\(letter)")
        }
    }
}
