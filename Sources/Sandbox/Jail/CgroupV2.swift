import SwiftletCore

#if canImport(Glibc)
import Glibc
#endif

/// The VM's leaf in the cgroup v2 hierarchy: `<mount>/<exec name>/<id>`, with the controllers its
/// settings need enabled on the way down (v2 only offers a controller's files in a child when
/// the parent's `cgroup.subtree_control` enables it).
struct CgroupV2 {
    let mountPoint: String
    let leaf: String

    /// Where cgroup2 is mounted, from a `/proc/mounts` text: `/sys/fs/cgroup` on a pure v2 host,
    /// `/sys/fs/cgroup/unified` in systemd's hybrid layout.
    static func mountPoint(inMounts mounts: String) -> String? {
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count >= 3, fields[2] == "cgroup2" { return String(fields[1]) }
        }
        return nil
    }

    static func find(parent: String, id: String) throws(JailError) -> CgroupV2? {
        let mounts: [UInt8]
        do {
            mounts = try HostFile.readAll("/proc/mounts", what: "mount table", limit: 1 << 20)
        } catch {
            throw .cgroup("cannot read /proc/mounts: \(error)")
        }
        guard let mountPoint = mountPoint(inMounts: String(decoding: mounts, as: UTF8.self)) else { return nil }
        return CgroupV2(mountPoint: mountPoint, leaf: "\(mountPoint)/\(parent)/\(id)")
    }

    /// Creates the leaf, applies `settings`, then moves the calling process into it.
    func join(settings: [(key: String, value: String)]) throws(JailError) {
        let parent = String(leaf[..<(leaf.lastIndex(of: "/") ?? leaf.endIndex)])
        for directory in [parent, leaf] where mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw .system(.last("mkdir", path: directory))
        }
        let controllers = Set(settings.map { String($0.key.split(separator: ".")[0]) }).subtracting(["cgroup"])
        if !controllers.isEmpty {
            let available = (try? read("\(mountPoint)/cgroup.controllers")) ?? ""
            let offered = Set(available.split(whereSeparator: \.isWhitespace).map(String.init))
            for controller in controllers.sorted() where !offered.contains(controller) {
                throw .cgroup("the '\(controller)' controller is not available in \(mountPoint) (it offers: \(available.isEmpty ? "none" : available))")
            }
            let enable = controllers.sorted().map { "+\($0)" }.joined(separator: " ")
            for directory in [mountPoint, parent] { try write(enable, to: "\(directory)/cgroup.subtree_control") }
        }
        for (key, value) in settings { try write(value, to: "\(leaf)/\(key)") }
        try write(String(getpid()), to: "\(leaf)/cgroup.procs")
    }

    private func read(_ path: String) throws -> String {
        String(decoding: try HostFile.readAll(path, what: "cgroup file", limit: 1 << 16), as: UTF8.self).trimmingWhitespace
    }

    private func write(_ text: String, to path: String) throws(JailError) {
        let descriptor = open(path, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .cgroup("\(path): \(SystemError.message(errno))") }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw .cgroup("writing '\(text)' to \(path): \(SystemError.message(errno))") }
    }
}

extension String {
    var trimmingWhitespace: String {
        String(self.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
