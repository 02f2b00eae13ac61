import CSandbox
import SwiftletCore
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Starts a program confined the way Firecracker's jailer confines Firecracker:
///
/// 1. makes every inherited descriptor but stdin, stdout and stderr close at exec (closing them
///    now would pull descriptors from under libdispatch's running threads), and executes with
///    an empty environment;
/// 2. builds `<base>/<exec name>/<id>/root` with a copy of the exec file and hard links to the
///    `--link`ed files (their owners and modes unchanged);
/// 3. sets the resource limits (no-file defaults to 2048);
/// 4. creates the cgroup v2 leaf `<exec name>/<id>`, writes the `--cgroup` settings, joins it;
/// 5. joins the `--netns` network namespace;
/// 6. with `--new-pid-ns`, forks into a new PID namespace (the parent records the child's PID in
///    `<root>/<exec name>.pid` and waits for it, or exits at once with `--daemonize`);
/// 7. in a new mount namespace, pivots the root to the jail and detaches the old root;
/// 8. creates `/dev/kvm`, `/dev/net/tun` and `/dev/urandom`, owned by the jailed uid/gid, and
///    gives it the new root so that it can create its API socket there;
/// 9. with `--daemonize`, starts a new session with stdio on /dev/null;
/// 10. drops supplementary groups, then the gid, then the uid (all of real, effective, saved),
///     and executes `/<exec name>` with the arguments after `--`.
///
/// Everything that allocates happens before the fork; the child only makes system calls.
public struct Jailer {
    public let configuration: JailConfiguration

    public init(_ configuration: JailConfiguration) {
        self.configuration = configuration
    }

    /// Device nodes made inside the jail: path, major, minor, mode.
    static let deviceNodes: [(path: String, major: UInt32, minor: UInt32, mode: mode_t)] = [
        ("/dev/kvm", 10, 232, 0o600), ("/dev/net/tun", 10, 200, 0o600), ("/dev/urandom", 1, 9, 0o444),
    ]

    /// Sets the jail up and executes the program; returns only by throwing. With a new PID
    /// namespace, the parent exits with the child's status instead of returning.
    public func run() throws(JailError) -> Never {
        let config = configuration
        // 1. Nothing the caller left open reaches the VMM.
        if csandbox_mark_close_on_exec_from(3) != 0 { try markInheritedDescriptorsCloseOnExecSlowly() }

        // 2. The jail's files.
        try makeDirectories(config.rootDirectory, mode: 0o755)
        let execInJail = "\(config.rootDirectory)/\(config.execName)"
        try copyFile(from: config.execFile, to: execInJail, mode: 0o755)
        for file in config.linkedFiles {
            let target = config.rootDirectory + file.jailPath
            try makeDirectories(String(target[..<(target.lastIndex(of: "/") ?? target.endIndex)]), mode: 0o755)
            try linkOrCopy(from: file.hostPath, to: target)
        }

        // 3. Limits, inherited by everything the jailed process starts.
        var limits = config.resourceLimits
        if !limits.contains(where: { $0.resource == .openFiles }) {
            limits.append(ResourceLimit(resource: .openFiles, value: JailConfiguration.defaultFileLimit))
        }
        for limit in limits {
            var value = rlimit(rlim_cur: rlim_t(limit.value), rlim_max: rlim_t(limit.value))
            try check("setrlimit(\(limit.resource.rawValue))") { setrlimit(__rlimit_resource_t(UInt32(limit.resource.systemResource)), &value) }
        }

        // 4. The cgroup: without cgroup v2 there is nothing to join, unless settings were asked for.
        if let cgroup = try CgroupV2.find(parent: config.execName, id: config.id) {
            try cgroup.join(settings: config.cgroupSettings)
        } else if !config.cgroupSettings.isEmpty {
            throw .cgroup("no cgroup2 file system is mounted (see /proc/mounts)")
        }

        // 5. The network namespace, while its path is still reachable.
        if let path = config.networkNamespace {
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw .system(.last("open network namespace", path: path)) }
            defer { close(descriptor) }
            try check("setns(CLONE_NEWNET)", path: path) { csandbox_join_network_namespace(descriptor) }
        }
        let devNull = config.daemonize ? open("/dev/null", O_RDWR | O_CLOEXEC) : -1
        if config.daemonize && devNull < 0 { throw .system(.last("open", path: "/dev/null")) }

        // Everything the child needs, prepared while allocation is still safe.
        let plan = ChildPlan(configuration: config, devNull: devNull)

        // 6. A new PID namespace takes effect for children only.
        if config.newPIDNamespace {
            try check("unshare(CLONE_NEWPID)") { csandbox_unshare_pid_namespace() }
            let pid = fork()
            if pid < 0 { throw .system(.last("fork")) }
            if pid > 0 { superviseChild(pid, pidFile: config.pidFile, daemonize: config.daemonize) }
        }
        plan.enterJailAndExecute()
    }

    /// The parent of a PID namespace: records the child, then waits for it and exits with its
    /// status (or exits at once when daemonized).
    private func superviseChild(_ pid: pid_t, pidFile: String, daemonize: Bool) -> Never {
        let text = Array("\(pid)\n".utf8)
        let descriptor = open(pidFile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if descriptor >= 0 {
            _ = text.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            close(descriptor)
        }
        if daemonize { exit(0) }
        var status: Int32 = 0
        _ = retryingOnInterrupt { waitpid(pid, &status, 0) }
        // Exited: its code; killed: 128 + the signal, as a shell reports it.
        let signal = status & 0x7f
        exit(signal == 0 ? (status >> 8) & 0xff : 128 + signal)
    }

    /// For kernels before 5.11, which lack CLOSE_RANGE_CLOEXEC.
    private func markInheritedDescriptorsCloseOnExecSlowly() throws(JailError) {
        let directory = opendir("/proc/self/fd")
        guard let directory else { throw .system(.last("opendir", path: "/proc/self/fd")) }
        let own = dirfd(directory)
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let descriptor = Int32(name), descriptor > 2, descriptor != own {
                _ = fcntl(descriptor, F_SETFD, fcntl(descriptor, F_GETFD) | FD_CLOEXEC)
            }
        }
        closedir(directory)
    }
}

// MARK: - File system helpers

func check(_ operation: String, path: String? = nil, _ call: () -> Int32) throws(JailError) {
    if retryingOnInterrupt(call) != 0 { throw .system(.last(operation, path: path)) }
}

func makeDirectories(_ path: String, mode: mode_t) throws(JailError) {
    var current = ""
    for component in path.split(separator: "/") {
        current += "/\(component)"
        if mkdir(current, mode) != 0 && errno != EEXIST { throw .system(.last("mkdir", path: current)) }
    }
}

/// Copies a regular file (the exec file is copied, as Firecracker does, so that the jailed
/// process can never write to the host's binary).
func copyFile(from source: String, to target: String, mode: mode_t) throws(JailError) {
    let contents: [UInt8]
    do {
        contents = try HostFile.readAll(source, what: "file for the jail", limit: 1 << 32)
    } catch {
        throw .invalid("\(error)")
    }
    unlink(target)
    let descriptor = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    guard descriptor >= 0 else { throw .system(.last("create", path: target)) }
    defer { close(descriptor) }
    let written = contents.withUnsafeBytes { buffer in
        Result { () throws(SystemError) in try HostFile.write(FileDescriptor(rawValue: descriptor), buffer) }
    }
    if case .failure(let error) = written { throw .system(error) }
    try check("chmod", path: target) { fchmod(descriptor, mode) }
}

/// Hard-links a file into the jail (following a symbolic link to the file itself), or copies it
/// when the jail is on another file system. Ownership and modes stay as they are: a hard link
/// shares the inode, and changing it would change the host's file too; the caller grants the
/// jailed uid what it needs (read-write for a writable disk), as with Firecracker's jailer.
func linkOrCopy(from source: String, to target: String) throws(JailError) {
    var info = stat()
    guard stat(source, &info) == 0 else { throw .system(.last("stat", path: source)) }
    guard info.st_mode & S_IFMT == S_IFREG else { throw .invalid("--link \(source): not a regular file") }
    unlink(target)
    if linkat(AT_FDCWD, source, AT_FDCWD, target, AT_SYMLINK_FOLLOW) == 0 { return }
    guard errno == EXDEV else { throw .system(.last("link", path: target)) }
    try copyFile(from: source, to: target, mode: info.st_mode & 0o7777)
}
