@testable import ControlAPI
import Foundation
import Testing

@Suite("Firecracker --config-file parsing")
struct FirecrackerConfigFileTests {
    /// Shaped like Firecracker's tests/framework/vm_config.json.
    static let firecrackerSample = """
        {
          "boot-source": {
            "kernel_image_path": "vmlinux.bin",
            "boot_args": "console=ttyS0 reboot=k panic=1 pci=off",
            "initrd_path": null
          },
          "drives": [
            {
              "drive_id": "rootfs",
              "path_on_host": "bionic.rootfs.ext4",
              "is_root_device": true,
              "partuuid": null,
              "is_read_only": false,
              "cache_type": "Unsafe",
              "io_engine": "Sync",
              "rate_limiter": null
            }
          ],
          "machine-config": {
            "vcpu_count": 2,
            "mem_size_mib": 1024,
            "smt": false,
            "track_dirty_pages": false
          },
          "cpu-config": null,
          "balloon": null,
          "network-interfaces": [],
          "vsock": null,
          "logger": null,
          "metrics": null,
          "mmds-config": null,
          "entropy": null
        }
        """

    @Test func parsesFirecrackersSample() throws {
        let config = try FirecrackerConfigFile(parsing: Array(Self.firecrackerSample.utf8))
        #expect(config.bootSource == BootSource(kernelImagePath: "vmlinux.bin", bootArgs: "console=ttyS0 reboot=k panic=1 pci=off"))
        #expect(config.drives == [Drive(driveID: "rootfs", pathOnHost: "bionic.rootfs.ext4", isRootDevice: true, cacheType: .unsafe)])
        #expect(config.machineConfig == MachineConfig(vcpuCount: 2, memSizeMiB: 1024))
    }

    @Test func minimalFileAndApply() throws {
        let config = try FirecrackerConfigFile(parsing: Array(#"{"boot-source": {"kernel_image_path": "/k"}}"#.utf8))
        #expect(config.machineConfig == nil)
        #expect(config.drives.isEmpty)

        let full = try FirecrackerConfigFile(parsing: Array(Self.firecrackerSample.utf8))
        let backend = FakeBackend()
        try full.apply(to: backend)
        #expect(backend.calls == [
            .machineConfig(MachineConfig(vcpuCount: 2, memSizeMiB: 1024)),
            .bootSource(full.bootSource),
            .drive(Drive(driveID: "rootfs", pathOnHost: "bionic.rootfs.ext4", isRootDevice: true, cacheType: .unsafe)),
        ])
    }

    @Test func readsFromDisk() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/vm.json"
        try Data(Self.firecrackerSample.utf8).write(to: URL(fileURLWithPath: path))
        #expect(try FirecrackerConfigFile(contentsOf: path).machineConfig?.vcpuCount == 2)
        do {
            _ = try FirecrackerConfigFile(contentsOf: directory.path + "/missing.json")
            Issue.record("read a missing file")
        } catch {
            #expect(error.message.contains("config file \(directory.path)/missing.json does not exist"), "\(error.message)")
        }
    }

    /// A FIFO with no writer would block a plain open() forever.
    @Test func refusesAFIFOWithoutWaitingForAWriter() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/fifo.json"
        #expect(mkfifo(path, 0o600) == 0)
        do {
            _ = try FirecrackerConfigFile(contentsOf: path)
            Issue.record("read a FIFO")
        } catch {
            #expect(error.message.contains("not a regular file"), "\(error.message)")
        }
    }

    static let refusals: [(String, String)] = [
        ("", "is empty"),
        ("{", "not valid JSON"),
        ("[]", "expected a JSON object"),
        (#"{"drives": []}"#, "no \"boot-source\""),
        (#"{"boot-source": {"kernel_image_path": "/k"}, "drive": []}"#, "unknown field 'drive'"),
        (#"{"boot-source": {"kernel_image_path": "/k"}, "drives": {}}"#, "\"drives\" must be a list"),
        (#"{"boot-source": {"kernel_image_path": "/k", "bootargs": ""}}"#, "unknown field 'bootargs'"),
        (#"{"boot-source": {"kernel_image_path": "/k"}, "machine-config": {"vcpu_count": 2}}"#, "missing required field 'mem_size_mib'"),
        (
            #"{"boot-source": {"kernel_image_path": "/k"}, "machine-config": {"vcpu_count": 2, "mem_size_mib": 8}}"#,
            "Invalid machine-config: mem_size_mib must be between 16 and 1048576 MiB (got 8)."
        ),
        (
            #"{"boot-source": {"kernel_image_path": "/k"}, "drives": [{"drive_id": "abcdefghij0123456789x", "path_on_host": "/1", "is_root_device": true}]}"#,
            "Invalid drives[0]: drive_id 'abcdefghij0123456789x' must be 1 to 20"
        ),
        (#"{"boot-source": {"kernel_image_path": "/k"}, "drives": [{"drive_id": "a", "is_root_device": true}]}"#, "drives[0]"),
        (
            #"{"boot-source": {"kernel_image_path": "/k"}, "drives": [{"drive_id": "a", "path_on_host": "/1", "is_root_device": true}, {"drive_id": "a", "path_on_host": "/2", "is_root_device": false}]}"#,
            "appears more than once"
        ),
        (
            #"{"boot-source": {"kernel_image_path": "/k"}, "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "tap0"}, {"iface_id": "eth0", "host_dev_name": "tap1"}]}"#,
            "iface_id 'eth0' appears more than once"
        ),
        (
            #"{"boot-source": {"kernel_image_path": "/k"}, "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "02:00"}]}"#,
            "Invalid network-interfaces[0]: field 'guest_mac'"
        ),
        (
            #"{"boot-source": {"kernel_image_path": "/k"}, "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "tap0", "rx_rate_limiter": {"bandwidth": {}}}]}"#,
            "Invalid network-interfaces[0].rx_rate_limiter.bandwidth: missing required field 'size'"
        ),
        (#"{"boot-source": {"kernel_image_path": "/k"}, "vsock": {"guest_cid": 2, "uds_path": "/v"}}"#, "Invalid vsock: guest_cid must be between 3"),
    ]

    @Test(arguments: refusals)
    func refusal(_ example: (String, String)) {
        let (text, expected) = example
        do {
            let config = try FirecrackerConfigFile(parsing: Array(text.utf8))
            Issue.record("accepted \(text) as \(config)")
        } catch {
            #expect(error.message.contains(expected), "'\(error.message)' lacks '\(expected)'")
        }
    }
}
