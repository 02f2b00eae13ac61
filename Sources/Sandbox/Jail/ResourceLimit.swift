#if canImport(Glibc)
import Glibc
#endif

/// One `--resource-limit NAME=VALUE`, with Firecracker's names. Soft and hard limits are both set.
public struct ResourceLimit: Sendable, Equatable {
    public enum Resource: String, Sendable, CaseIterable {
        /// The largest file the process may create or extend (RLIMIT_FSIZE), in bytes.
        case fileSize = "fsize"
        /// One more than the highest descriptor number it may open (RLIMIT_NOFILE).
        case openFiles = "no-file"

        var systemResource: Int32 {
            switch self {
            case .fileSize: return Int32(RLIMIT_FSIZE.rawValue)
            case .openFiles: return Int32(RLIMIT_NOFILE.rawValue)
            }
        }
    }

    public var resource: Resource
    public var value: UInt64

    public init(resource: Resource, value: UInt64) {
        self.resource = resource
        self.value = value
    }

    /// Parses `fsize=1000000` or `no-file=1024`.
    public init(parsing text: String) throws(JailError) {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        let known = Resource.allCases.map(\.rawValue).joined(separator: ", ")
        guard parts.count == 2, let resource = Resource(rawValue: parts[0]) else {
            throw .invalid("--resource-limit '\(text)': expected NAME=VALUE with NAME one of \(known)")
        }
        guard let value = UInt64(parts[1]) else { throw .invalid("--resource-limit '\(text)': the value must be a whole number") }
        self.init(resource: resource, value: value)
    }
}
