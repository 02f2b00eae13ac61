/// The console's escape sequences, read from the keyboard before the guest sees it:
/// Ctrl-A x quits Swiftlet, Ctrl-A Ctrl-A sends one Ctrl-A to the guest, and Ctrl-A followed
/// by anything else sends both keys unchanged. A Ctrl-A at the end of one read waits for the
/// next one.
struct ConsoleEscape {
    static let escapeKey: UInt8 = 0x01  // Ctrl-A
    static let quitKey = UInt8(ascii: "x")

    private var escapePending = false

    /// The bytes for the guest, and whether the quit sequence was typed (bytes after it are
    /// dropped: Swiftlet is quitting).
    mutating func filter(_ input: some Sequence<UInt8>) -> (forGuest: [UInt8], quit: Bool) {
        var forGuest: [UInt8] = []
        for byte in input {
            if escapePending {
                escapePending = false
                if byte == Self.quitKey { return (forGuest, true) }
                if byte != Self.escapeKey { forGuest.append(Self.escapeKey) }
                forGuest.append(byte)
            } else if byte == Self.escapeKey {
                escapePending = true
            } else {
                forGuest.append(byte)
            }
        }
        return (forGuest, false)
    }
}
