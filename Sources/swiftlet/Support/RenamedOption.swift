import ArgumentParser

/// An option that was renamed: the old spelling still works, hidden from the help, and prints
/// a warning that names the new one.
enum RenamedOption {
    static func resolve(_ value: String?, name: String, oldValue: String?, oldName: String) throws(OptionCombinationError) -> String? {
        guard let oldValue else { return value }
        guard value == nil else { throw OptionCombinationError("\(oldName) is the old name of \(name); give only \(name)") }
        Diagnostics.warning("\(oldName) is deprecated and will be removed; use \(name)")
        return oldValue
    }
}
