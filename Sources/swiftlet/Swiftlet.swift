import ArgumentParser

@main
struct Swiftlet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftlet",
        abstract: "A minimal KVM virtual machine monitor.",
        discussion: """
            Boots a Linux kernel (bzImage or ELF vmlinux) on /dev/kvm with a 16550 serial console on \
            the terminal and virtio-blk disks, and serves a Firecracker-style control API on a Unix socket.
            """,
        version: SwiftletVersion.current,
        subcommands: [RunCommand.self, ClientPause.self, ClientResume.self, ClientStatus.self, ClientSnapshot.self, ClientRestore.self, JailCommand.self])
}

enum SwiftletVersion {
    static let current = "0.1.0"
}
