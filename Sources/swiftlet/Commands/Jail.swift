import ArgumentParser
import Sandbox

/// `swiftlet jail`: starts `swiftlet run` (or any exec file) confined as Firecracker's jailer
/// confines Firecracker. Run it as root; see docs/security.md.
struct JailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jail",
        abstract: "Start the VMM in a chroot, new namespaces, a cgroup and as an unprivileged user.",
        discussion: """
            Builds <chroot-base-dir>/<exec name>/<id>/root holding a copy of the exec file, the files \
            given with --link, and /dev/kvm, /dev/net/tun and /dev/urandom; joins the cgroup v2 leaf \
            <exec name>/<id>; pivots into the root in a new mount namespace; drops to --uid/--gid and \
            executes the exec file with the arguments after `--`, with an empty environment. Paths in \
            those arguments are paths inside the jail: an API socket at /api.sock is reachable by the \
            caller at <root>/api.sock. The exec file must be statically linked, or its shared \
            libraries linked in with --link.

            Example: swiftlet jail --id vm1 --exec-file /usr/local/bin/swiftlet --uid 123 --gid 100 \
            --link /images/kernel:/kernel --new-pid-ns -- run --kernel /kernel --api-sock /api.sock
            """)

    @Option(help: "The VM's id: 1-64 letters, digits and hyphens; names its directory and cgroup.")
    var id: String

    @Option(name: .customLong("exec-file"), help: "The program to confine, normally the swiftlet binary (copied into the jail).")
    var execFile: String

    @Option(help: "The user id to run as (not 0).")
    var uid: UInt32

    @Option(help: "The group id to run as (not 0).")
    var gid: UInt32

    @Option(name: .customLong("chroot-base-dir"), help: "Where jails are built.")
    var chrootBaseDirectory: String = JailConfiguration.defaultChrootBase

    @Option(help: "A network namespace to join, e.g. /var/run/netns/NAME.")
    var netns: String?

    @Option(name: .customLong("cgroup"), help: "A cgroup v2 setting FILE=VALUE for the VM's cgroup (memory.max=..., cpu.max=..., pids.max=...). Repeatable.")
    var cgroupSettings: [String] = []

    @Option(name: .customLong("resource-limit"), help: "fsize=BYTES or no-file=COUNT (default no-file=2048). Repeatable.")
    var resourceLimits: [String] = []

    @Option(name: .customLong("link"), help: "HOST_PATH[:JAIL_PATH]: hard-link (or copy) a file into the jail; its owner and mode are unchanged, so make it readable (and writable for a disk) by --uid/--gid. Default JAIL_PATH: /<file name>. Repeatable.")
    var links: [String] = []

    @Flag(name: .customLong("new-pid-ns"), help: "Run in a new PID namespace; its PID is written to <root>/<exec name>.pid.")
    var newPIDNamespace = false

    @Flag(help: "Start a new session with stdin, stdout and stderr on /dev/null.")
    var daemonize = false

    @Argument(parsing: .postTerminator, help: "The exec file's arguments, after `--`.")
    var arguments: [String] = []

    func configuration() throws -> JailConfiguration {
        let settings = try cgroupSettings.map { setting -> (key: String, value: String) in
            let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--cgroup '\(setting)': expected FILE=VALUE") }
            return (parts[0], parts[1])
        }
        let linkedFiles = links.map { link -> JailConfiguration.LinkedFile in
            let parts = link.split(separator: ":", maxSplits: 1).map(String.init)
            let host = parts[0]
            let name = host.split(separator: "/").last.map(String.init) ?? host
            return JailConfiguration.LinkedFile(hostPath: host, jailPath: parts.count == 2 ? parts[1] : "/\(name)")
        }
        return try JailConfiguration(
            id: id, execFile: execFile, uid: uid, gid: gid, chrootBaseDirectory: chrootBaseDirectory, networkNamespace: netns,
            cgroupSettings: settings, resourceLimits: try resourceLimits.map { try ResourceLimit(parsing: $0) },
            newPIDNamespace: newPIDNamespace, daemonize: daemonize, linkedFiles: linkedFiles, arguments: arguments)
    }

    func validate() throws {
        do {
            _ = try configuration()
        } catch let error as JailError {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        try Jailer(try configuration()).run()
    }
}
