/// The two entry points of the `CThreadSpawner` target, which replaces `pthread_create` for
/// the program that links it. Only executables link it (a sanitizer runtime's interceptor
/// must keep `pthread_create` in fuzz builds), so they hand it to `ThreadSandbox.configure`:
/// a program without it cannot narrow threads.
public struct ThreadSpawner: @unchecked Sendable {  // two C function pointers, immutable
    /// Starts the spawner thread; 0 or an errno value.
    let start: @convention(c) () -> Int32
    /// Sends the calling thread's later thread creations to the spawner.
    let markThreadNarrowed: @convention(c) () -> Void

    public init(start: @convention(c) () -> Int32, markThreadNarrowed: @convention(c) () -> Void) {
        self.start = start
        self.markThreadNarrowed = markThreadNarrowed
    }
}
