import SwiftletCore

extension JSONValue {
    /// Parses `bytes` as one JSON document.
    /// - Throws: `APIFault` with a message that says the body is not valid JSON.
    static func parse(_ bytes: [UInt8], what: String) throws(APIFault) -> JSONValue {
        let nonWhitespace = bytes.contains { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }
        guard nonWhitespace else {
            throw APIFault("The \(what) is empty; expected a JSON object.")
        }
        guard let value = JSONValue.parse(bytes) else { throw APIFault("The \(what) is not valid JSON.") }
        return value
    }
}
