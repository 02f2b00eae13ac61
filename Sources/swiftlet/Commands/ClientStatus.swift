import ArgumentParser
import ControlAPI

/// `swiftlet status`: prints GET / (or GET /vm/config) as JSON.
struct ClientStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print a running VMM's state as JSON.",
        discussion: """
            Prints the answer to GET /, e.g. {"app_name":"Swiftlet","id":"…","state":"Running","vmm_version":"…"}; \
            state is "Not started", "Running" or "Paused". With --config, prints GET /vm/config \
            instead: the machine, boot source and drives, in the shape of a Firecracker \
            --config-file.
            """)

    @OptionGroup var connection: ClientConnectionOptions

    @Flag(help: "Print the VM's configuration (GET /vm/config) instead of its state.")
    var config = false

    func run() throws {
        try ClientSupport.run {
            let response = try connection.client.checked(method: "GET", path: config ? "/vm/config" : "/")
            print(response.bodyText)
        }
    }
}
