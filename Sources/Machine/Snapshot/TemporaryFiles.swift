import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The temporary files a snapshot is writing right now. A snapshot can be RAM-sized; if the
/// process is told to stop while one is being written, the exit path removes them here, so
/// a signal at the wrong moment leaves nothing behind.
public enum TemporaryFiles {
    private static let paths = Mutex<Set<String>>([])

    static func register(_ path: String) { _ = paths.withLock { $0.insert(path) } }

    static func unregister(_ path: String) { _ = paths.withLock { $0.remove(path) } }

    /// Unlinks every registered file; call it on the way out of the process.
    public static func removeAll() {
        let pending = paths.withLock { paths in
            defer { paths.removeAll() }
            return paths
        }
        for path in pending { unlink(path) }
    }

    /// How many are registered (for tests).
    public static var count: Int { paths.withLock { $0.count } }
}
