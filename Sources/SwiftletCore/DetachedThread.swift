#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Starts `body` on a new, detached POSIX thread, for work that blocks for the life of the
/// process (reading the terminal) and so must not hold one of Dispatch's worker threads.
/// Returns false if the thread could not start.
@discardableResult
public func startDetachedThread(_ body: @escaping @Sendable () -> Void) -> Bool {
    final class Work {
        let body: @Sendable () -> Void
        init(body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let context = Unmanaged.passRetained(Work(body: body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { raw in
        let work = Unmanaged<Work>.fromOpaque(raw!).takeRetainedValue()
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
