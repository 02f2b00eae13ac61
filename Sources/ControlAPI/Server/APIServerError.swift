/// Why the API server could not start. The message is meant for the person running Swiftlet.
public struct APIServerError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
