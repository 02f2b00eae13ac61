/// A network configuration that cannot be built, whatever the host has.
public enum NetConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    case duplicateID(String)
    case overrideForUnknownInterface(String)

    public var description: String {
        switch self {
        case .duplicateID(let id): return "two network interfaces have the id \"\(id)\""
        case .overrideForUnknownInterface(let id): return "network override for \"\(id)\", which the snapshot has no interface of"
        }
    }
}
