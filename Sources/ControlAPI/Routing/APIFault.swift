/// A request the API refuses. It becomes an HTTP error response whose body is Firecracker's
/// `{"fault_message": "..."}`.
struct APIFault: Error, CustomStringConvertible, Equatable {
    /// HTTP status; Firecracker answers almost every refusal with 400.
    var status: UInt
    var message: String

    init(_ message: String, status: UInt = 400) {
        self.status = status
        self.message = message
    }

    var description: String { message }
}
