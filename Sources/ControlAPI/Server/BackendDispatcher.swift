import Dispatch
import Logging
import NIOCore

/// Runs backend calls on one serial queue, away from the event loop: pausing waits for vCPUs
/// and snapshotting writes whole guest memories, and the event loop must keep serving other
/// connections meanwhile. Serial, because the VMM's lifecycle operations must not interleave.
final class BackendDispatcher: Sendable {
    private let backend: any VMMBackend
    private let queue = DispatchQueue(label: "swiftlet.control-api.backend")
    private let logger: Logger

    init(backend: any VMMBackend, logger: Logger) {
        self.backend = backend
        self.logger = logger
    }

    /// Runs `body` once every call dispatched so far has finished.
    func afterPendingCalls(_ body: @escaping @Sendable () -> Void) {
        queue.async(execute: body)
    }

    func perform(_ request: APIRequest, description: String, promise: EventLoopPromise<APIResponse>) {
        queue.async { [backend, logger] in
            let response = request.perform(on: backend)
            if response.status >= 400, case .object(let members)? = response.body, case .string(let fault)? = members["fault_message"] {
                logger.info("API \(description) refused: \(fault)")
            } else {
                logger.debug("API \(description) -> \(response.status)")
            }
            promise.succeed(response)
        }
    }
}
