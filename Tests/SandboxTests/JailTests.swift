import Foundation
import Testing

@testable import Sandbox

#if canImport(Glibc)
import Glibc
#endif

@Suite struct JailConfigurationTests {
    func configuration(id: String = "vm-1", uid: UInt32 = 1000, links: [JailConfiguration.LinkedFile] = [], cgroup: [(String, String)] = [])
        throws(JailError) -> JailConfiguration
    {
        try JailConfiguration(
            id: id, execFile: "/usr/bin/swiftlet", uid: uid, gid: 1000, cgroupSettings: cgroup.map { (key: $0.0, value: $0.1) },
            linkedFiles: links)
    }

    @Test func theJailLivesUnderBaseExecNameAndID() throws {
        let config = try configuration()
        #expect(config.rootDirectory == "/srv/jailer/swiftlet/vm-1/root")
        #expect(config.pidFile == "/srv/jailer/swiftlet/vm-1/root/swiftlet.pid")
    }

    @Test func badIDsRootAndEscapingPathsAreRefused() {
        for id in ["", "../x", "a/b", "a b", String(repeating: "a", count: 65), "vm_1"] {
            #expect(throws: JailError.self, "\(id)") { try configuration(id: id) }
        }
        #expect(throws: JailError.self) { try configuration(uid: 0) }
        #expect(throws: JailError.self) { try configuration(links: [.init(hostPath: "/k", jailPath: "/../etc/passwd")]) }
        #expect(throws: JailError.self) { try configuration(links: [.init(hostPath: "relative", jailPath: "/k")]) }
        #expect(throws: JailError.self) { try configuration(links: [.init(hostPath: "/k", jailPath: "/swiftlet")]) }
        #expect(throws: JailError.self) { try configuration(cgroup: [("../../cgroup.procs", "1")]) }
        #expect(throws: JailError.self) { try configuration(cgroup: [("cgroup.procs", "1")]) }
        #expect(throws: JailError.self) { try configuration(cgroup: [("memory", "1")]) }
        #expect(throws: Never.self) { try configuration(id: String(repeating: "a", count: 64), cgroup: [("memory.max", "1G")]) }
    }

    @Test func resourceLimitsUseFirecrackersNames() throws {
        #expect(try ResourceLimit(parsing: "no-file=1024") == ResourceLimit(resource: .openFiles, value: 1024))
        #expect(try ResourceLimit(parsing: "fsize=250000000") == ResourceLimit(resource: .fileSize, value: 250_000_000))
        #expect(throws: JailError.self) { try ResourceLimit(parsing: "nofile=1") }
        #expect(throws: JailError.self) { try ResourceLimit(parsing: "fsize=-1") }
        #expect(throws: JailError.self) { try ResourceLimit(parsing: "fsize") }
    }

    @Test func theCgroup2MountIsFoundInPureAndHybridLayouts() {
        #expect(CgroupV2.mountPoint(inMounts: "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n") == "/sys/fs/cgroup")
        let hybrid = "tmpfs /sys/fs/cgroup tmpfs rw 0 0\ncgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n"
        #expect(CgroupV2.mountPoint(inMounts: hybrid) == "/sys/fs/cgroup/unified")
        #expect(CgroupV2.mountPoint(inMounts: "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n") == nil)
    }
}

/// Boots the tiny test guest under `swiftlet jail` as nobody (65534) and checks from /proc that
/// the VMM's root, ids, namespaces, limits and cgroup are the jail's, and that its API socket is
/// reachable at <root>/api.sock. Needs root and /dev/kvm, as CI has.
@Suite(.serialized, .enabled(if: getuid() == 0 && access("/dev/kvm", R_OK | W_OK) == 0))
struct JailedBootTests {
    static let nobody: UInt32 = 65534

    @Test func theJailedVMMRunsConfined() throws {
        let guest = try TestGuestImage.path()
        let swiftlet = ChildProcess.executable("swiftlet")
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("jail-\(UUID().uuidString.prefix(8))").path
        let id = "sandbox-test-\(getpid())"
        let cgroupMount = CgroupV2.mountPoint(inMounts: (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? "")
        defer {
            try? FileManager.default.removeItem(atPath: base)
            // The leaf empties once the killed VMM and the jail's parent are reaped.
            if let cgroupMount {
                for _ in 0..<100 where rmdir("\(cgroupMount)/swiftlet/\(id)") != 0 && errno == EBUSY { usleep(20_000) }
                rmdir("\(cgroupMount)/swiftlet")
            }
        }

        var arguments = [
            "jail", "--id", id, "--exec-file", swiftlet.path, "--uid", "\(Self.nobody)", "--gid", "\(Self.nobody)",
            "--chroot-base-dir", base, "--new-pid-ns", "--resource-limit", "no-file=512", "--resource-limit", "fsize=1073741824",
            "--link", "\(guest):/kernel",
        ]
        // A core cgroup v2 file that every cgroup has, whatever controllers the host enables.
        if cgroupMount != nil { arguments += ["--cgroup", "cgroup.max.descendants=0"] }
        for library in try SharedLibraries.of(swiftlet.path) { arguments += ["--link", "\(library):\(library)"] }
        arguments += ["--", "run", "--kernel", "/kernel", "--cmdline", "test=count", "--api-sock", "/api.sock"]

        let jail = try BackgroundProcess(swiftlet, arguments)
        defer { jail.stop() }
        let root = "\(base)/swiftlet/\(id)/root"
        let pidText = try jail.waitFor("the pid file") { try? String(contentsOfFile: "\(root)/swiftlet.pid", encoding: .utf8) }
        let pid = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        _ = try jail.waitFor("the guest to count") { jail.stdout.contains("count ") ? true : nil }
        defer { kill(pid, SIGKILL) }

        // The root is the jail (the same directory, seen through the process's root link), and
        // the host's files are out of reach.
        func identity(_ path: String) -> [UInt64]? {
            var info = stat()
            return stat(path, &info) == 0 ? [UInt64(info.st_dev), UInt64(info.st_ino)] : nil
        }
        #expect(identity("/proc/\(pid)/root/") != nil)
        #expect(identity("/proc/\(pid)/root/") == identity(root))
        #expect(identity("/proc/\(pid)/root/") != identity("/"))
        #expect(identity("/proc/\(pid)/root/kernel") != nil)
        #expect(identity("/proc/\(pid)/root/etc") == nil)

        // Every uid and gid is nobody's, with no supplementary groups.
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        #expect(status.contains("\nUid:\t65534\t65534\t65534\t65534\n"), "\(status)")
        #expect(status.contains("\nGid:\t65534\t65534\t65534\t65534\n"))
        #expect(status.range(of: #"\nGroups:[ \t]*\n"#, options: .regularExpression) != nil, "\(status)")
        #expect(status.contains("\nCapEff:\t0000000000000000\n"))

        // New mount and PID namespaces; the VMM is init of its PID namespace.
        for namespace in ["mnt", "pid"] {
            let own = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/\(namespace)")
            let jailed = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/\(namespace)")
            #expect(own != jailed, "\(namespace) namespace")
        }
        #expect(status.contains("\nNSpid:\t\(pid)\t1\n"), "\(status)")

        // The limits.
        let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
        #expect(limits.range(of: #"Max open files\s+512\s+512"#, options: .regularExpression) != nil, "\(limits)")
        #expect(limits.range(of: #"Max file size\s+1073741824\s+1073741824"#, options: .regularExpression) != nil)

        // The cgroup leaf.
        if let cgroupMount {
            let cgroups = try String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)
            #expect(cgroups.contains("0::/swiftlet/\(id)\n"), "\(cgroups)")
            let procs = try String(contentsOfFile: "\(cgroupMount)/swiftlet/\(id)/cgroup.procs", encoding: .utf8)
            #expect(procs.split(separator: "\n").contains("\(pid)"))
            #expect(try String(contentsOfFile: "\(cgroupMount)/swiftlet/\(id)/cgroup.max.descendants", encoding: .utf8) == "0\n")
        }

        // The device nodes belong to the jailed user; the API socket is the caller's to use.
        var info = stat()
        #expect(stat("\(root)/dev/kvm", &info) == 0 && info.st_uid == Self.nobody && info.st_mode & S_IFMT == S_IFCHR)
        let answer = try UnixSocketRequest.send("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", to: "\(root)/api.sock")
        #expect(answer.contains("\"state\":\"Running\""), "\(answer)")
    }
}
