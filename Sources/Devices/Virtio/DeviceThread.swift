import Sandbox

#if canImport(Glibc)
import Glibc
#endif

/// Starts the threads that do a device's host I/O: its worker, and a block device's I/O
/// engine. Each narrows itself to the device-io seccomp list before running anything.
enum DeviceThread {
    /// Runs `body` on a new detached thread. Fails only when the process cannot create threads.
    static func start(name: String, what: String, _ body: @escaping @Sendable () -> Void) throws(VirtioError) {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { context in
                guard let context else { return nil }
                let body = Unmanaged<Body>.fromOpaque(context).takeRetainedValue()
                ThreadSandbox.narrowCurrentThread(to: .deviceIO)
                body.run()
                return nil
            }, context)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw .invalidDevice("\(name): cannot start its \(what) (pthread_create: \(result))")
        }
        pthread_detach(thread)
    }

    private final class Body: Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
}
