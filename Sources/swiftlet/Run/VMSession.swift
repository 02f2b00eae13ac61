import ArgumentParser
import Dispatch
import Machine

#if canImport(Glibc)
import Glibc
#endif

/// Runs the console around the VM, from before it exists until it stops (`RunCommand` catches
/// the stop signals before any work).
struct VMSession {
    let pending: PendingMachine

    func run() -> StopReason {
        let interactive = isatty(STDIN_FILENO) == 1
        TerminalMode.enterRaw()
        defer { TerminalMode.restore() }
        // Started before the VM exists, so the escape works while Swiftlet waits for the API.
        ConsoleInput(pending: pending, interactive: interactive) { [pending] why in
            pending.stop(.hostRequest(why))
        }.start()
        switch pending.wait() {
        case .started(let machine): return machine.waitForStop()
        case .cancelled(let reason): return reason
        }
    }
}

extension VMSession {
    /// SIGTERM, SIGINT and SIGHUP stop the VM (or cancel its start) instead of killing the
    /// process; keep the returned sources alive for as long as that should hold.
    static func catchStopSignals(_ pending: PendingMachine) -> [any DispatchSourceSignal] {
        [SIGTERM, SIGINT, SIGHUP].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [pending] in pending.stop(.hostRequest("signal \(number)")) }
            source.resume()
            return source
        }
    }
}

extension StopReason {
    /// Says why the VM stopped and exits with its documented status (`exitCode`).
    func exitIfFailed() throws {
        if isClean {
            Diagnostics.note(description)
        } else {
            Diagnostics.error(description)
            throw ExitCode(exitCode)
        }
    }
}
