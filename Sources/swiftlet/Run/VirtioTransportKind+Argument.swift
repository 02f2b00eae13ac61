import ArgumentParser
import Machine

// `--transport pci|mmio`: the raw values are the argument's spellings. The conformance lives
// here because Machine must not depend on the argument parser.
extension VirtioTransportKind: ExpressibleByArgument {}
