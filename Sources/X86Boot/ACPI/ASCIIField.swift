/// Fixed-width ASCII fields of firmware tables (signatures, OEM IDs, MP bus types).
enum ASCIIField {
    /// `text`'s bytes, cut or padded with spaces to `width`. Only Swiftlet's own constants
    /// pass through here, all plain ASCII.
    static func padded(_ text: String, width: Int) -> [UInt8] {
        let bytes = Array(text.utf8.prefix(width))
        return bytes + Array(repeating: UInt8(ascii: " "), count: width - bytes.count)
    }
}
