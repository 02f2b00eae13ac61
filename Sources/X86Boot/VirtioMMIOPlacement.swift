import SwiftletCore

/// Where each virtio-mmio device of a VM lives and which interrupt it raises, and how the
/// guest learns of it: the same descriptions feed the DSDT (`ACPITables.build`) and the
/// `virtio_mmio.device=` words on the kernel command line.
public enum VirtioMMIOPlacement {
    /// Each device's register window.
    public static let windowSize: UInt64 = 0x1000

    /// IOAPIC pins free for devices, in the order they are handed out. The ISA pins come
    /// first because a kernel that finds its devices only on the command line can request
    /// them without ACPI; 0–2 (timer, keyboard, cascade), 3 and 4 (serial ports), 8 (RTC),
    /// 9 (the SCI), 12 (PS/2 mouse) and 13 (FPU) are taken. 16–23 need the DSDT's `_CRS`.
    public static let gsis: [UInt32] = [5, 6, 7, 10, 11, 14, 15] + Array(16...23)

    /// Too many devices for the free interrupt lines.
    public struct TooManyDevices: Error, Equatable, CustomStringConvertible {
        public let count: Int
        public var description: String { "\(count) virtio-mmio devices, but only \(VirtioMMIOPlacement.gsis.count) interrupt lines are free" }
    }

    /// Device *i* gets the *i*-th 4 KiB window of `X86Layout.virtioMMIOWindow` and the *i*-th
    /// free GSI, edge-triggered as Firecracker and QEMU's microvm describe theirs.
    public static func devices(count: Int) throws(TooManyDevices) -> [VirtioMMIODeviceDescription] {
        guard count >= 0, count <= gsis.count else { throw TooManyDevices(count: count) }
        return (0..<count).map { index in
            // At most 15 windows: far inside the 256 MiB area.
            let window = X86Layout.virtioMMIOWindow.subrange(offset: UInt64(index) * windowSize, count: windowSize)!
            return VirtioMMIODeviceDescription(window: window, gsi: gsis[index])
        }
    }

    /// `virtio_mmio.device=4K@0xd0000000:5` for each device, the form Linux's
    /// `CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES` parses (size, `@` base, `:` interrupt).
    public static func commandLineWords(_ devices: [VirtioMMIODeviceDescription]) -> [String] {
        devices.map { device in
            "virtio_mmio.device=\(device.window.length >> 10)K@0x\(String(device.window.start, radix: 16)):\(device.gsi)"
        }
    }
}
