import SwiftletCore

/// A response from the VMM's API.
public struct APIClientResponse: Sendable, Equatable {
    public var status: Int
    /// Header names lowercased; a repeated header keeps its last value.
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public var isSuccess: Bool { (200..<300).contains(status) }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// Firecracker's `{"fault_message": "..."}`, if the body is one.
    public var faultMessage: String? {
        guard let json = try? JSONValue.parse(body, what: "response"),
            case .object(let members) = json, case .string(let message)? = members["fault_message"]
        else { return nil }
        return message
    }

    /// The body as parsed JSON, or nil when it is empty or not JSON.
    public var json: JSONValue? { try? JSONValue.parse(body, what: "response") }
}

/// Why a request to the VMM failed: no VMM, a timeout, a broken reply, or a refusal (status
/// and `fault_message` included).
public struct APIClientError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String
    /// The HTTP status when the VMM answered with an error; nil for transport failures.
    public var status: Int?

    public init(_ message: String, status: Int? = nil) {
        self.message = message
        self.status = status
    }

    public var description: String { message }
}
