import ControlAPI
import Devices

/// The API's spelling of a drive's cache type ("Writeback", "Unsafe") and I/O engine ("Sync",
/// "Async") and the device's, one case for one case. Exhaustive both ways, so a new case
/// cannot quietly become another.
extension VirtioBlock.CacheType {
    init(_ type: Drive.CacheType) {
        switch type {
        case .writeback: self = .writeback
        case .unsafe: self = .unsafe
        }
    }
}

extension Drive.CacheType {
    init(_ type: VirtioBlock.CacheType) {
        switch type {
        case .writeback: self = .writeback
        case .unsafe: self = .unsafe
        }
    }
}

extension VirtioBlock.IOEngine {
    init(_ engine: Drive.IOEngine) {
        switch engine {
        case .sync: self = .sync
        case .async: self = .async
        }
    }
}

extension Drive.IOEngine {
    init(_ engine: VirtioBlock.IOEngine) {
        switch engine {
        case .sync: self = .sync
        case .async: self = .async
        }
    }
}
