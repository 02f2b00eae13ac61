/// Names and numbers of the host's system calls, so that allowlists stay readable.
public enum SystemCallTable {
    /// The number of the system call `name` on x86_64, or nil for an unknown name.
    public static func number(of name: String) -> UInt32? { x86_64[name] }

    /// Every name, indexed by number (nil where no call has that number); the SIGSYS reporter
    /// of the debug mode prints from it.
    static let namesByNumber: [String?] = {
        var names = [String?](repeating: nil, count: Int((x86_64.values.max() ?? 0) + 1))
        for (name, number) in x86_64 { names[Int(number)] = name }
        return names
    }()

    public static func name(of number: UInt32) -> String? {
        Int(number) < namesByNumber.count ? namesByNumber[Int(number)] : nil
    }
}
