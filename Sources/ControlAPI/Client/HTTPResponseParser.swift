/// Just enough HTTP/1.1 response parsing for the API: a status line, headers, and a body
/// delimited by Content-Length or by the end of the connection. The API never sends chunked
/// responses, so they are reported as errors rather than mis-parsed.
enum HTTPResponseParser {
    private static let headerTerminator: [UInt8] = Array("\r\n\r\n".utf8)

    /// True once `bytes` hold a whole response whose length is known from its headers, so the
    /// client can stop reading without waiting for the server to close.
    static func isComplete(_ bytes: [UInt8]) -> Bool {
        guard let (status, headers, bodyStart) = try? head(bytes) else { return false }
        if let length = contentLength(status: status, headers: headers) {
            return bytes.count - bodyStart >= length
        }
        return false
    }

    static func parse(_ bytes: [UInt8], socketPath: String) throws(APIClientError) -> APIClientResponse {
        guard !bytes.isEmpty else {
            throw APIClientError("The VMM on \(socketPath) closed the connection without answering.")
        }
        guard let (status, headers, bodyStart) = try head(bytes) else {
            throw APIClientError("The answer from \(socketPath) is not a complete HTTP response.")
        }
        if headers["transfer-encoding"].map({ $0.lowercased() != "identity" }) ?? false {
            throw APIClientError("The answer from \(socketPath) uses a transfer encoding this client does not support.")
        }
        var body = Array(bytes[bodyStart...])
        if let length = contentLength(status: status, headers: headers) {
            guard body.count >= length else {
                throw APIClientError("The answer from \(socketPath) was cut short: \(body.count) of \(length) body bytes.")
            }
            body = Array(body.prefix(length))
        }
        return APIClientResponse(status: status, headers: headers, body: body)
    }

    /// Status, lowercased headers and the body offset, or nil while the head is incomplete.
    private static func head(_ bytes: [UInt8]) throws(APIClientError) -> (Int, [String: String], Int)? {
        guard let end = firstIndex(of: headerTerminator, in: bytes) else { return nil }
        let text = String(decoding: bytes[..<end], as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        guard !lines.isEmpty else { throw APIClientError("The answer has no HTTP status line.") }
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]),
            (100...599).contains(status)
        else {
            throw APIClientError("The answer has a malformed HTTP status line.")
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            headers[name] = line[line.index(after: colon)...].trimmingSpaces()
        }
        if (100..<200).contains(status) {
            // An interim "100 Continue": the real response follows it.
            return try head(Array(bytes[(end + headerTerminator.count)...])).map { ($0.0, $0.1, $0.2 + end + headerTerminator.count) }
        }
        return (status, headers, end + headerTerminator.count)
    }

    private static func contentLength(status: Int, headers: [String: String]) -> Int? {
        if status == 204 || status == 304 { return 0 }
        return headers["content-length"].flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil }
    }

    private static func firstIndex(of pattern: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= pattern.count else { return nil }
        for start in 0...(bytes.count - pattern.count) where bytes[start..<(start + pattern.count)].elementsEqual(pattern) {
            return start
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
