import FoundationEssentials

/// KVM's state structs travel in snapshots as their exact bytes: a snapshot is only ever
/// restored by the same Swiftlet build on the same kind of host (as with Firecracker), and
/// the kernel validates the contents when they are set back.
enum RawBytes {
    static func encode<T>(_ value: T) -> Data {
        withUnsafeBytes(of: value) { Data($0) }
    }

    static func decode<T>(_ type: T.Type, from data: Data, what: String) throws(SnapshotError) -> T {
        guard data.count == MemoryLayout<T>.size else {
            throw .stateSize(what: what, actual: data.count, expected: MemoryLayout<T>.size)
        }
        return data.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
    }
}
