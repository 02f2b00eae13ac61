// Installs a seccomp filter on its main thread through Sandbox's own API, then makes one system
// call, so that the tests watch the kernel enforce the filter (no BPF interpreter of our own):
//
//   sandbox-probe FILTER DENIED CALL [ARG...]
//
//   FILTER  minimal            (write and exit_group only)
//           builtin:KIND       (Allowlist.builtIn(for: KIND))
//           file:PATH:KIND     (a --seccomp-filter file)
//           child-of:KIND      (`main` on every thread, this thread narrowed to KIND with
//                               ThreadSandbox, and the call made on a thread it then creates)
//   DENIED  kill | trap | log
//   ARG     a number, 0x-hex, or an ioctl request name
//
// It prints "probe: filtered" once the filter is in place and "probe: survived RESULT" after
// the call, then exits 0 through exit_group, the only way out that a minimal filter allows.
import CSandbox
import CThreadSpawner
import Sandbox

#if canImport(Glibc)
import Glibc
#endif

func say(_ text: String, to descriptor: Int32 = STDOUT_FILENO) {
    var bytes = Array(text.utf8)
    bytes.append(UInt8(ascii: "\n"))
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
}

func fail(_ message: String) -> Never {
    say("sandbox-probe: \(message)", to: STDERR_FILENO)
    exit(2)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 3 else { fail("usage: sandbox-probe FILTER DENIED CALL [ARG...]") }
guard let denied = DeniedAction(rawValue: arguments[1]) else { fail("unknown denied action \(arguments[1])") }
guard let callNumber = SystemCallTable.number(of: arguments[2]) else { fail("unknown system call \(arguments[2])") }
let callArguments: [Int] = arguments.dropFirst(3).map { text in
    if text.hasPrefix("0x"), let value = UInt64(text.dropFirst(2), radix: 16) { return Int(bitPattern: UInt(value)) }
    if let value = Int(text) { return value }
    if let value = IoctlRequest.value(named: text) { return Int(bitPattern: UInt(value)) }
    fail("bad argument \(text)")
}

/// Makes the call on a new thread created by this one, and returns its result.
func callOnAChildThread(_ number: Int, _ arguments: [Int]) -> Int {
    final class Call {
        let number: Int
        let arguments: [Int]
        var result = 0
        init(number: Int, arguments: [Int]) {
            self.number = number
            self.arguments = arguments
        }
    }
    let call = Unmanaged.passRetained(Call(number: number, arguments: arguments))
    var thread = pthread_t()
    let created = pthread_create(&thread, nil, { context in
        let call = Unmanaged<Call>.fromOpaque(context!).takeUnretainedValue()
        let a = call.arguments
        call.result = csandbox_syscall6(call.number, a[0], a[1], a[2], a[3], a[4], a[5])
        return nil
    }, call.toOpaque())
    guard created == 0 else { fail("pthread_create: \(created)") }
    pthread_join(thread, nil)
    return call.takeRetainedValue().result
}

var childOfKind: ThreadKind?
do {
    let source = arguments[0]
    let filter: SeccompFilter?
    if source.hasPrefix("child-of:"), let kind = ThreadKind(rawValue: String(source.dropFirst("child-of:".count))) {
        let policy = SeccompPolicy(allowlists: SeccompPolicy.builtIn.allowlists, denied: denied)
        try policy.install(for: .main, scope: .allThreads)
        try ThreadSandbox.configure(
            policy, spawner: ThreadSpawner(start: cthreadspawner_start, markThreadNarrowed: cthreadspawner_mark_thread_narrowed))
        ThreadSandbox.narrowCurrentThread(to: kind)
        childOfKind = kind
        filter = nil  // installed already
    } else if source == "minimal" {
        filter = try SeccompFilter(kind: .main, allowlist: Allowlist([.init("write"), .init("exit_group")]), denied: denied)
    } else if source.hasPrefix("builtin:"), let kind = ThreadKind(rawValue: String(source.dropFirst("builtin:".count))) {
        filter = try SeccompFilter.forThread(kind, denied: denied)
    } else if source.hasPrefix("file:") {
        let parts = source.dropFirst("file:".count).split(separator: ":").map(String.init)
        guard parts.count == 2, let kind = ThreadKind(rawValue: parts[1]), let allowlist = try SeccompFilterFile.load(path: parts[0]).allowlists[kind]
        else { fail("bad filter source \(source)") }
        filter = try SeccompFilter(kind: kind, allowlist: allowlist, denied: denied)
    } else {
        fail("bad filter source \(source)")
    }
    if let filter { try SeccompFilter.install(filter) }
} catch {
    fail("\(error)")
}

say("probe: filtered")
let padded = callArguments + Array(repeating: 0, count: 6 - min(callArguments.count, 6))
let result = childOfKind == nil
    ? csandbox_syscall6(Int(callNumber), padded[0], padded[1], padded[2], padded[3], padded[4], padded[5])
    : callOnAChildThread(Int(callNumber), padded)
say("probe: survived \(result)")
_ = csandbox_syscall6(Int(SystemCallTable.number(of: "exit_group") ?? 231), 0, 0, 0, 0, 0, 0)
