#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Starts `body` on a new, detached POSIX thread named `name` (at most 15 bytes show).
/// For work that blocks for the life of the process, such as reading the terminal, and so
/// must not hold one of Dispatch's worker threads. Returns false if the thread could not start.
@discardableResult
public func startDetachedThread(name: String, _ body: @escaping @Sendable () -> Void) -> Bool {
    final class Work {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
    let context = Unmanaged.passRetained(Work(name: name, body: body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { raw in
        let work = Unmanaged<Work>.fromOpaque(raw!).takeRetainedValue()
        _ = pthread_setname_np(pthread_self(), String(work.name.utf8.prefix(15))!)
        work.body()
        return nil
    }, context)
    guard result == 0 else {
        Unmanaged<Work>.fromOpaque(context).release()
        return false
    }
    pthread_detach(thread)
    return true
}
