import Devices
import Machine
import SwiftletCore

/// `--disk PATH[,ro|readonly][,id=NAME][,cache=writeback|unsafe][,io=sync|async][,direct][,queues=N]`,
/// parsed as the user typed it.
struct DiskOption: Sendable, Equatable {
    var path: String
    var readOnly = false
    var id: String?
    var cacheType: VirtioBlock.CacheType?
    var ioEngine: VirtioBlock.IOEngine?
    var direct = false
    var queueCount: Int?

    static let valueName = "PATH[,ro][,id=NAME][,cache=writeback|unsafe][,io=sync|async][,direct][,queues=N]"

    /// Parses one `--disk` value; the error names the part that is wrong.
    init(parsing argument: String) throws(DiskOptionError) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first, !first.isEmpty else {
            throw DiskOptionError("the path before the first ',' is missing")
        }
        path = first
        for part in parts.dropFirst() {
            switch part {
            case "ro", "readonly":
                readOnly = true
            case "direct":
                direct = true
            case _ where part.hasPrefix("id="):
                guard id == nil else { throw DiskOptionError("'id=' is given twice") }
                let name = String(part.dropFirst(3))
                do {
                    try MachineLimits.checkDriveID(name, field: "id")
                } catch {
                    throw DiskOptionError("\(error)")
                }
                id = name
            case _ where part.hasPrefix("cache="):
                guard cacheType == nil else { throw DiskOptionError("'cache=' is given twice") }
                guard let type = VirtioBlock.CacheType(rawValue: String(part.dropFirst(6))) else {
                    throw DiskOptionError("unknown cache type in '\(part)'; expected cache=writeback or cache=unsafe")
                }
                cacheType = type
            case _ where part.hasPrefix("io="):
                guard ioEngine == nil else { throw DiskOptionError("'io=' is given twice") }
                guard let engine = VirtioBlock.IOEngine(rawValue: String(part.dropFirst(3))) else {
                    throw DiskOptionError("unknown I/O engine in '\(part)'; expected io=sync or io=async")
                }
                ioEngine = engine
            case _ where part.hasPrefix("queues="):
                guard queueCount == nil else { throw DiskOptionError("'queues=' is given twice") }
                guard let count = Int(part.dropFirst(7)) else { throw DiskOptionError("'\(part)' is not a number of queues") }
                do {
                    try MachineLimits.checkDiskQueueCount(count, field: "queues")
                } catch {
                    throw DiskOptionError("\(error)")
                }
                queueCount = count
            default:
                throw DiskOptionError(
                    "unknown part '\(part)'; expected ro, readonly, id=NAME, cache=writeback|unsafe, io=sync|async, direct or queues=N")
            }
        }
    }

    /// Disks without an id are named like the guest will see them: vda, vdb, ...
    static func configurations(_ options: [DiskOption]) -> [DiskConfiguration] {
        options.enumerated().map { index, option in
            let letter = Character(UnicodeScalar(UInt8(ascii: "a") + UInt8(index % 26)))
            return DiskConfiguration(
                path: option.path, readOnly: option.readOnly, id: option.id ?? "vd\(letter)", cacheType: option.cacheType ?? .writeback,
                ioEngine: option.ioEngine ?? .sync, direct: option.direct, queueCount: option.queueCount)
        }
    }
}

/// What is wrong with a `--disk` value; ArgumentParser prints it after the value itself.
struct DiskOptionError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
