import SwiftletCore

/// The Differentiated System Description Table: the ACPI namespace in AML.
///
/// ```
/// Scope (\_SB) {
///     Device (PCI0) { _HID PNP0A03, _SEG 0, _UID 0, _BBN 0,
///                     _CRS: bus 0, config ports 0xCF8–0xCFF, I/O window, MMIO window(s) }
///     Device (COM1) { _HID PNP0501, _UID 1, _CRS: IO 0x3F8 length 8, IRQ 4 }
///     Device (VRnn) { _HID "LNRO0005", _UID nn, _CRS: Memory32Fixed, Interrupt }  (per virtio-mmio device)
/// }
/// Name (\_S5, Package { 5, 0 })
/// ```
///
/// The host bridge is PNP0A03 (conventional PCI) rather than PNP0A08 (PCI Express): there is
/// no ECAM region (MCFG) and no `_OSC`, so a PCIe claim would only make Linux complain.
enum DSDT {
    /// Revision 2 and above give AML 64-bit integers.
    static let revision: UInt8 = 2

    /// COM1, the 16550A Swiftlet emulates.
    static let com1Ports: UInt16 = 0x3F8
    static let com1PortCount: UInt8 = 8
    static let com1IRQ: UInt32 = 4

    /// PCI configuration mechanism #1: address at 0xCF8, data at 0xCFC–0xCFF.
    static let pciConfigurationPorts: UInt16 = 0xCF8
    static let pciConfigurationPortCount: UInt8 = 8

    /// The most virtio-mmio devices the `VRnn` names (two hex digits) can tell apart.
    static let maximumVirtioMMIODevices = 256

    struct Machine {
        var pciIOWindow: AddressRange
        var pciMMIOWindow: AddressRange
        var pciMMIO64Window: AddressRange?
        var virtioMMIODevices: [VirtioMMIODeviceDescription]
    }

    static func make(_ machine: Machine) throws(FirmwareTableError) -> [UInt8] {
        var devices = [try pciHostBridge(machine), try com1()]
        guard machine.virtioMMIODevices.count <= maximumVirtioMMIODevices else {
            throw FirmwareTableError("DSDT", "\(machine.virtioMMIODevices.count) virtio-mmio devices; at most \(maximumVirtioMMIODevices)")
        }
        for (index, device) in machine.virtioMMIODevices.enumerated() {
            devices.append(try virtioMMIO(device, index: index))
        }
        let body = [try AMLTerm.scope("\\_SB", devices), try sleepStateS5()]
        var table = SystemDescriptionHeader.make(signature: "DSDT", revision: revision)
        table += body.flatMap(\.bytes)
        try SystemDescriptionHeader.seal(&table)
        return table
    }

    static func pciHostBridge(_ machine: Machine) throws(FirmwareTableError) -> AMLTerm {
        var resources = [
            try ResourceDescriptor.wordBusNumber(0...0),
            try ResourceDescriptor.io(
                minimum: pciConfigurationPorts, maximum: pciConfigurationPorts, alignment: 1, length: pciConfigurationPortCount),
            try ResourceDescriptor.wordIO(machine.pciIOWindow),
            try ResourceDescriptor.dwordMemory(machine.pciMMIOWindow),
        ]
        if let window = machine.pciMMIO64Window { resources.append(try ResourceDescriptor.qwordMemory(window)) }
        return try AMLTerm.device(
            "PCI0",
            [
                try AMLTerm.name("_HID", try AMLTerm.eisaID("PNP0A03")),
                try AMLTerm.name("_SEG", AMLTerm.integer(0)),
                try AMLTerm.name("_UID", AMLTerm.integer(0)),
                try AMLTerm.name("_BBN", AMLTerm.integer(0)),
                try AMLTerm.name("_CRS", try ResourceTemplate.buffer(resources)),
            ])
    }

    static func com1() throws(FirmwareTableError) -> AMLTerm {
        try AMLTerm.device(
            "COM1",
            [
                try AMLTerm.name("_HID", try AMLTerm.eisaID("PNP0501")),
                try AMLTerm.name("_UID", AMLTerm.integer(1)),
                try AMLTerm.name(
                    "_CRS",
                    try ResourceTemplate.buffer([
                        try ResourceDescriptor.io(minimum: com1Ports, maximum: com1Ports, alignment: 1, length: com1PortCount),
                        try ResourceDescriptor.interrupt([com1IRQ], trigger: .edge, polarity: .activeHigh),
                    ])),
            ])
    }

    /// One virtio-mmio transport; `index` names it (`VR00`, `VR01`, …) and is its `_UID`.
    static func virtioMMIO(_ device: VirtioMMIODeviceDescription, index: Int) throws(FirmwareTableError) -> AMLTerm {
        let hexIndex = String(index, radix: 16, uppercase: true)
        let name = "VR" + String(repeating: "0", count: max(0, 2 - hexIndex.count)) + hexIndex
        return try AMLTerm.device(
            name,
            [
                try AMLTerm.name("_HID", try AMLTerm.string("LNRO0005")),
                try AMLTerm.name("_UID", AMLTerm.integer(UInt64(index))),
                try AMLTerm.name(
                    "_CRS",
                    try ResourceTemplate.buffer([
                        try ResourceDescriptor.memory32Fixed(device.window),
                        try ResourceDescriptor.interrupt([device.gsi], trigger: device.trigger, polarity: .activeHigh),
                    ])),
            ])
    }

    /// `\_S5`: the SLP_TYP values for soft-off (SLP_TYPa, SLP_TYPb). Its presence is what
    /// makes Linux install ACPI power-off; the value must match what the sleep control
    /// register's handler expects.
    static func sleepStateS5() throws(FirmwareTableError) -> AMLTerm {
        try AMLTerm.name(
            "_S5", try AMLTerm.package([AMLTerm.integer(UInt64(ACPIPowerRegisters.s5SleepType)), AMLTerm.integer(0)]))
    }
}
