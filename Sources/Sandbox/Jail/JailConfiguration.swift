/// What `swiftlet jail` was asked to do, checked before anything on the host is touched.
public struct JailConfiguration: Sendable, Equatable {
    /// A file placed in the jail: hard-linked (copied across file systems) from `hostPath` to
    /// `jailPath` inside the new root. Its owner and mode stay the host file's.
    public struct LinkedFile: Sendable, Equatable {
        public var hostPath: String
        public var jailPath: String

        public init(hostPath: String, jailPath: String) {
            self.hostPath = hostPath
            self.jailPath = jailPath
        }
    }

    public var id: String
    public var execFile: String
    public var uid: UInt32
    public var gid: UInt32
    public var chrootBaseDirectory: String
    public var networkNamespace: String?
    /// cgroup v2 interface files of the VM's leaf cgroup and their values (`memory.max=…`).
    public var cgroupSettings: [(key: String, value: String)]
    public var resourceLimits: [ResourceLimit]
    public var newPIDNamespace: Bool
    public var daemonize: Bool
    public var linkedFiles: [LinkedFile]
    /// The arguments after `--`, passed to the exec file.
    public var arguments: [String]

    public static let defaultChrootBase = "/srv/jailer"
    /// Firecracker's default bound on descriptors when no `no-file` limit is given.
    public static let defaultFileLimit: UInt64 = 2048

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.id == rhs.id && lhs.execFile == rhs.execFile && lhs.uid == rhs.uid && lhs.gid == rhs.gid
            && lhs.chrootBaseDirectory == rhs.chrootBaseDirectory && lhs.networkNamespace == rhs.networkNamespace
            && lhs.cgroupSettings.map(\.key) == rhs.cgroupSettings.map(\.key) && lhs.cgroupSettings.map(\.value) == rhs.cgroupSettings.map(\.value)
            && lhs.resourceLimits == rhs.resourceLimits && lhs.newPIDNamespace == rhs.newPIDNamespace && lhs.daemonize == rhs.daemonize
            && lhs.linkedFiles == rhs.linkedFiles && lhs.arguments == rhs.arguments
    }

    /// The name the exec file has inside the jail, and the jail's cgroup parent.
    public var execName: String { String(execFile.split(separator: "/").last ?? "") }
    /// `<base>/<exec name>/<id>`: the jail's directory, which holds `root`.
    public var jailDirectory: String { "\(chrootBaseDirectory)/\(execName)/\(id)" }
    /// The new root; the caller reaches a path P of the jailed process at `rootDirectory + P`.
    public var rootDirectory: String { "\(jailDirectory)/root" }
    /// Where the PID of the jailed process is written with `--new-pid-ns`, as Firecracker does.
    public var pidFile: String { "\(rootDirectory)/\(execName).pid" }

    public init(
        id: String, execFile: String, uid: UInt32, gid: UInt32, chrootBaseDirectory: String = defaultChrootBase,
        networkNamespace: String? = nil, cgroupSettings: [(key: String, value: String)] = [], resourceLimits: [ResourceLimit] = [],
        newPIDNamespace: Bool = false, daemonize: Bool = false, linkedFiles: [LinkedFile] = [], arguments: [String] = []
    ) throws(JailError) {
        self.id = id
        self.execFile = execFile
        self.uid = uid
        self.gid = gid
        self.chrootBaseDirectory = chrootBaseDirectory
        self.networkNamespace = networkNamespace
        self.cgroupSettings = cgroupSettings
        self.resourceLimits = resourceLimits
        self.newPIDNamespace = newPIDNamespace
        self.daemonize = daemonize
        self.linkedFiles = linkedFiles
        self.arguments = arguments
        try validate()
    }

    /// The VM id names directories and a cgroup: letters, digits and hyphens, 1–64 of them.
    static func isValidID(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count) && id.utf8.allSatisfy { $0 == UInt8(ascii: "-") || ($0 < 128 && isAlphanumeric($0)) }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// A path with no `..` component, so that it cannot leave the directory it is joined to.
    static func staysInside(_ path: String) -> Bool {
        !path.split(separator: "/").contains("..")
    }

    func validate() throws(JailError) {
        guard Self.isValidID(id) else { throw .invalid("--id '\(id)': use 1-64 letters, digits and hyphens") }
        guard execFile.hasPrefix("/"), !execName.isEmpty else { throw .invalid("--exec-file must be an absolute path to a file") }
        guard chrootBaseDirectory.hasPrefix("/"), Self.staysInside(chrootBaseDirectory) else {
            throw .invalid("--chroot-base-dir must be an absolute path without '..'")
        }
        guard uid != 0, gid != 0 else { throw .invalid("--uid and --gid must not be 0: the jail exists to drop root") }
        for (key, _) in cgroupSettings {
            let parts = key.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count >= 2, parts.allSatisfy({ !$0.isEmpty }), !key.contains("/") else {
                throw .invalid("--cgroup '\(key)': expected a cgroup v2 interface file such as memory.max")
            }
            guard !["cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "cgroup.type"].contains(key) else {
                throw .invalid("--cgroup '\(key)' is managed by the jailer")
            }
        }
        var seenResources = Set<ResourceLimit.Resource>()
        for limit in resourceLimits where !seenResources.insert(limit.resource).inserted {
            throw .invalid("--resource-limit \(limit.resource.rawValue) is given twice")
        }
        for file in linkedFiles {
            guard file.hostPath.hasPrefix("/") else { throw .invalid("--link \(file.hostPath): the host path must be absolute") }
            guard file.jailPath.hasPrefix("/"), file.jailPath != "/", Self.staysInside(file.jailPath) else {
                throw .invalid("--link \(file.hostPath): the path in the jail must be absolute, without '..'")
            }
            guard file.jailPath != "/\(execName)" else { throw .invalid("--link \(file.hostPath) would replace the exec file") }
        }
    }
}
