/// Why a virtio device could not be built or restored.
public enum VirtioError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidDevice(String)
    case invalidState(String)

    public var description: String {
        switch self {
        case .invalidDevice(let why): return "invalid virtio device: \(why)"
        case .invalidState(let why): return "invalid virtio device state: \(why)"
        }
    }
}
