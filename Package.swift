// swift-tools-version: 6.2
import PackageDescription

// One concern per module, in the spirit of rust-vmm's crates:
// CKVM (C constants) → KVM (descriptor wrappers) → GuestMemory → X86Boot / Devices
// → Machine (VM assembly, vCPU loops, snapshots) → ControlAPI (HTTP over a Unix socket) → swiftlet (CLI).
let package = Package(
    name: "swiftlet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "swiftlet", targets: ["swiftlet"])
    ],
    // Exact versions: the ones CI builds and tests. Package.resolved is not committed (README,
    // "Dependency versions"): the development and CI machines fetch these
    // packages from a local mirror whose commit ids differ from GitHub's, and SwiftPM checks out a
    // pin by its commit id, so a Package.resolved made there would fail every build from GitHub.
    // Update them together, after `scripts/test.sh` passed with the new versions.
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        // ManagedAtomic, an atomic strong reference that is safe to load while another thread
        // replaces it: the Bus's routing table (issue 14). The Synchronization module has no
        // such type. 1.3.0 is the version swift-nio 2.101.3 already resolved to, so this pins
        // a package that was only a transitive dependency before.
        .package(url: "https://github.com/apple/swift-atomics", exact: "1.3.0"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-system", exact: "1.8.1"),
    ],
    targets: [
        .target(name: "CKVM"),
        // The shared vocabulary: addresses and ranges, the little-endian codec, system-call
        // errors, host files and limits. Everything else builds on it.
        .target(name: "SwiftletCore", dependencies: [.product(name: "SystemPackage", package: "swift-system")]),
        .target(name: "KVM", dependencies: ["CKVM", "SwiftletCore"]),
        .target(name: "GuestMemory", dependencies: ["SwiftletCore"]),
        .target(name: "X86Boot", dependencies: ["SwiftletCore", "GuestMemory"]),
        // The tun/tap ioctls, for virtio-net's tap backend.
        .target(name: "CTap"),
        // epoll and eventfd with plain integers, for the devices' event loops.
        .target(name: "CEvents"),
        // io_uring through liburing (Debian's liburing-dev), for virtio-blk's async engine. The
        // archive is linked, not the shared library, so the binary runs where liburing is absent.
        .target(name: "CIOUring", linkerSettings: [.linkedLibrary(":liburing.a")]),
        .target(
            name: "Devices",
            dependencies: [
                "CTap", "CEvents", "CIOUring", "SwiftletCore", "GuestMemory", "Sandbox", .product(name: "Atomics", package: "swift-atomics"),
            ]),
        .target(
            name: "Machine",
            dependencies: [
                "CKVM", "SwiftletCore", "KVM", "GuestMemory", "X86Boot", "Devices", "Sandbox",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]),
        .target(
            name: "ControlAPI",
            dependencies: [
                "SwiftletCore", "Sandbox",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "swiftlet",
            dependencies: [
                "SwiftletCore", "Machine", "ControlAPI", "X86Boot", "Devices", "Sandbox", "CThreadSpawner",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // The sandbox: seccomp filters generated from per-thread allowlists, and the jailer.
        .target(name: "CSandbox"),
        // pthread_create for threads under a narrowed filter; only executables link it.
        .target(name: "CThreadSpawner"),
        .target(
            name: "Sandbox",
            dependencies: ["CSandbox", "CKVM", "CTap", "SwiftletCore", .product(name: "SystemPackage", package: "swift-system")]),
        // Installs a filter and makes one system call, for the tests that watch the kernel enforce it.
        .executableTarget(name: "sandbox-probe", dependencies: ["Sandbox", "CSandbox", "CThreadSpawner"]),
        .testTarget(name: "SandboxTests", dependencies: ["Sandbox", "sandbox-probe", "swiftlet"]),
        .testTarget(name: "SwiftletCoreTests", dependencies: ["SwiftletCore"]),
        .testTarget(name: "GuestMemoryTests", dependencies: ["GuestMemory", "SwiftletCore"]),
        .testTarget(name: "DevicesTests", dependencies: ["Devices", "CEvents", "GuestMemory", "SwiftletCore"]),
        // Runs the built executable against /dev/kvm; depending on it makes `swift test` build it.
        .testTarget(name: "IntegrationTests", dependencies: ["swiftlet"]),
        .testTarget(name: "X86BootTests", dependencies: ["X86Boot", "GuestMemory", "SwiftletCore"]),
        .testTarget(name: "ControlAPITests", dependencies: ["ControlAPI"]),
        .testTarget(name: "MachineTests", dependencies: ["Machine", "KVM", "CKVM", "Devices", "GuestMemory", "SwiftletCore"]),
        // Runs the KVM wrappers against /dev/kvm (skipped where there is none).
        .testTarget(name: "KVMTests", dependencies: ["KVM", "CKVM", "SwiftletCore"]),
    ],
    swiftLanguageModes: [.v6]
)

// The code base is kept warning-free: with SWIFTLET_STRICT=1 (set by scripts/test.sh, so in CI)
// any warning in Swiftlet's own targets fails the build. A plain `swift build` leaves warnings
// as warnings, so a newer compiler's new warning never stops a user's build.
let strict = Context.environment["SWIFTLET_STRICT"] == "1"
for target in package.targets where strict && target.type != .system {
    if ["CKVM", "CSandbox", "CTap", "CIOUring", "CThreadSpawner"].contains(target.name) {
        target.cSettings = (target.cSettings ?? []) + [.unsafeFlags(["-Werror"])]
    } else {
        target.swiftSettings = (target.swiftSettings ?? []) + [.treatAllWarnings(as: .error)]
    }
}

// libFuzzer targets (issue 13), one executable per parser. They exist only when
// scripts/fuzz.sh builds them (SWIFTLET_FUZZ set, `-sanitize=fuzzer,address`, its own
// scratch path): libFuzzer provides `main`, so a normal build could not link them.
if Context.environment["SWIFTLET_FUZZ"] != nil {
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("VirtqueueBlock", ["Devices", "GuestMemory", "SwiftletCore"]),
        ("PCIConfig", ["Devices", "GuestMemory", "SwiftletCore"]),
        ("APIRouter", ["ControlAPI"]),
        ("ConfigFile", ["ControlAPI"]),
        ("SnapshotState", ["Machine"]),
    ]
    for target in fuzzTargets {
        package.targets.append(
            .executableTarget(
                name: "fuzz-\(target.name)", dependencies: target.dependencies, path: "Fuzz/\(target.name)",
                swiftSettings: [.unsafeFlags(["-parse-as-library"]), .treatAllWarnings(as: .error)]))
    }
}
