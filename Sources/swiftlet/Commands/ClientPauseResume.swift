import ArgumentParser
import ControlAPI

/// `swiftlet pause`: PATCH /vm {"state": "Paused"}.
struct ClientPause: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Pause a running VM: its vCPUs stop until `swiftlet resume`.",
        discussion: """
            Sends PATCH /vm {"state": "Paused"} to the VMM and returns once every vCPU has \
            stopped. Pausing a paused VM succeeds and changes nothing.
            """)

    @OptionGroup var connection: ClientConnectionOptions

    func run() throws {
        try ClientSupport.run {
            try ClientSupport.setState(connection.client, to: "Paused")
            print("Paused.")
        }
    }
}

/// `swiftlet resume`: PATCH /vm {"state": "Resumed"}.
struct ClientResume: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Resume a paused VM.",
        discussion: """
            Sends PATCH /vm {"state": "Resumed"} to the VMM. Also resumes a VM restored \
            with `swiftlet restore` without --resume. Resuming a running VM succeeds and \
            changes nothing.
            """)

    @OptionGroup var connection: ClientConnectionOptions

    func run() throws {
        try ClientSupport.run {
            try ClientSupport.setState(connection.client, to: "Resumed")
            print("Resumed.")
        }
    }
}
