/// Options that are each valid but do not go together, or a command with nothing to do.
///
/// Checked in `run()`, not in `validate()`: ArgumentParser validates before it reports unknown
/// options, so a check there would hide the typo behind it. `Swiftlet.main` prints it the way
/// ArgumentParser prints a validation error: the message, then where to find the usage.
struct OptionCombinationError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
