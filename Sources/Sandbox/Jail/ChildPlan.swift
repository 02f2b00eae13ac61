import CSandbox

#if canImport(Glibc)
import Glibc
#endif

/// The last steps of the jail, from the mount namespace to `execve`, with every string already
/// a C string: after a fork these run in a child of a possibly multi-threaded process, where
/// only system calls are safe. A failure writes one line to stderr and exits with status 1.
struct ChildPlan {
    let root: UnsafeMutablePointer<CChar>
    let execPath: UnsafeMutablePointer<CChar>
    let argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    /// Empty: nothing from the caller's environment reaches the jailed process.
    let environment: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    let devices: [(path: UnsafeMutablePointer<CChar>, device: dev_t, mode: mode_t)]
    let directories: [UnsafeMutablePointer<CChar>]
    let uid: uid_t
    let gid: gid_t
    let devNull: Int32

    /// The strings are never freed: the process either executes or exits.
    init(configuration config: JailConfiguration, devNull: Int32) {
        root = strdup(config.rootDirectory)
        execPath = strdup("/\(config.execName)")
        let arguments = [config.execName] + config.arguments
        argv = .allocate(capacity: arguments.count + 1)
        for (index, argument) in arguments.enumerated() { argv[index] = strdup(argument) }
        argv[arguments.count] = nil
        environment = .allocate(capacity: 1)
        environment[0] = nil
        devices = Jailer.deviceNodes.map { (strdup($0.path), csandbox_makedev($0.major, $0.minor), S_IFCHR | $0.mode) }
        let directoryNames: [String] = ["/dev", "/dev/net"]
        directories = directoryNames.map { strdup($0) }
        uid = config.uid
        gid = config.gid
        self.devNull = devNull
    }

    func enterJailAndExecute() -> Never {
        // 7. A private mount namespace whose root is the jail; the host's tree is detached.
        step("unshare(CLONE_NEWNS)") { csandbox_unshare_mount_namespace() }
        step("make mounts private") { mount(nil, "/", nil, UInt(MS_PRIVATE | MS_REC), nil) }
        step("bind the jail onto itself") { mount(root, root, nil, UInt(MS_BIND | MS_REC), nil) }
        step("chdir to the jail") { chdir(root) }
        step("mkdir old_root") { mkdir("old_root", 0o700) }
        step("pivot_root") { csandbox_pivot_root(".", "old_root") }
        step("detach the old root") { umount2("old_root", Int32(MNT_DETACH)) }
        step("rmdir old_root") { rmdir("old_root") }
        step("chroot") { chroot(".") }
        step("chdir /") { chdir("/") }

        // The Swift runtime reads its arguments from /proc/self/cmdline. A fresh procfs shows
        // only the jail's PID namespace (with --new-pid-ns), and hidepid/subset=pid hide other
        // users' processes and everything but the per-process directories.
        if mkdir("/proc", 0o555) != 0 && errno != EEXIST { fail("mkdir /proc") }
        step("mount /proc") { mount("proc", "/proc", "proc", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), "hidepid=invisible,subset=pid") }

        // 8. The devices the VMM opens, and the root for its API socket, owned by the jailed user.
        for directory in directories where mkdir(directory, 0o755) != 0 && errno != EEXIST { fail("mkdir /dev") }
        for node in devices {
            unlink(node.path)
            step("mknod") { mknod(node.path, node.mode, node.device) }
            step("chown device") { chown(node.path, uid, gid) }
        }
        step("chown /") { chown("/", uid, gid) }

        // 9. Detached from the terminal.
        if devNull >= 0 {
            step("setsid") { setsid() < 0 ? -1 : 0 }
            for standard in 0...2 { step("redirect stdio") { dup2(devNull, Int32(standard)) < 0 ? -1 : 0 } }
        }

        // 10. The groups first (they need root), then gid, then uid: no way back.
        step("drop to the jail's uid and gid") { csandbox_drop_privileges(uid, gid) }
        if setuid(0) == 0 { fail("root could be regained") }

        execve(execPath, argv, environment)
        fail("execve")
    }

    private func step(_ what: StaticString, _ call: () -> Int32) {
        if call() != 0 { fail(what) }
    }

    private func fail(_ what: StaticString) -> Never {
        let code = errno
        writeToStandardError("swiftlet jail: ")
        writeToStandardError(what)
        writeToStandardError(": ")
        // Between fork and exec only async-signal-safe calls: no Swift strings, so not SystemError.
        if let message = strerror(code) { _ = write(2, message, strlen(message)) }
        writeToStandardError("\n")
        _exit(1)
    }

    private func writeToStandardError(_ text: StaticString) {
        _ = write(2, text.utf8Start, text.utf8CodeUnitCount)
    }
}
