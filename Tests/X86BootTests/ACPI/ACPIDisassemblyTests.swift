import Foundation
import SwiftletCore
import Testing
@testable import X86Boot

/// ACPICA's own tools as a second opinion: `iasl -d` must disassemble every table without an
/// error, and the disassembled DSDT must compile again. Test-only; the build never needs iasl.
/// Install it with `apt-get install acpica-tools`; without it these tests are skipped with
/// that message.
private let iaslPath = ["/usr/bin/iasl", "/usr/local/bin/iasl"].first { FileManager.default.isExecutableFile(atPath: $0) }

@Suite(.enabled(if: iaslPath != nil, "iasl not found: install acpica-tools to check the ACPI tables with ACPICA"))
struct ACPIDisassemblyTests {

    private struct Run {
        var status: Int32
        var output: String
    }

    private func iasl(_ arguments: [String], in directory: URL) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(iaslPath))
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, output: String(decoding: output, as: UTF8.self))
    }

    private func scratchDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-acpi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Lines where iasl reports an error or a warning (its remarks are advice, not faults).
    private func complaints(_ output: String) -> [String] {
        output.split(separator: "\n").map(String.init).filter {
            $0.range(of: #"\b(Error|Warning)\s+\d+"#, options: .regularExpression) != nil
                || $0.contains("Invalid") || $0.contains("checksum")
        }
    }

    @Test(arguments: [1, 32])
    func everyTableDisassemblesCleanly(vcpuCount: Int) throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let devices = [VirtioMMIODeviceDescription(window: addressRange(0xD000_0000, 0x1000), gsi: 5)]
        let tables = try standardACPITables(vcpuCount: vcpuCount, virtioMMIODevices: devices)
        // This iasl reads only tables with a standard header from a binary file, not the RSDP;
        // ACPITablesTests checks the RSDP's fields and both checksums.
        for region in tables.regions where region.name != "RSDP" {
            let file = region.name.lowercased() + ".dat"
            try Data(region.bytes).write(to: directory.appendingPathComponent(file))
            let run = try iasl(["-d", file], in: directory)
            #expect(run.status == 0, "iasl -d \(file) failed:\n\(run.output)")
            #expect(complaints(run.output).isEmpty, "iasl -d \(file):\n\(run.output)")
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(region.name.lowercased() + ".dsl").path))
        }
    }

    @Test func theDisassembledDSDTCompilesAgain() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let devices = [VirtioMMIODeviceDescription(window: addressRange(0xD000_0000, 0x1000), gsi: 5)]
        let dsdt = try standardACPITables(virtioMMIODevices: devices).table("DSDT")
        try Data(dsdt).write(to: directory.appendingPathComponent("dsdt.dat"))
        let disassembly = try iasl(["-d", "dsdt.dat"], in: directory)
        try #require(disassembly.status == 0, "\(disassembly.output)")
        let source = try String(contentsOf: directory.appendingPathComponent("dsdt.dsl"), encoding: .utf8)
        for expected in ["Device (PCI0)", "EisaId (\"PNP0A03\")", "Device (COM1)", "EisaId (\"PNP0501\")", "\"LNRO0005\"",
            "WordBusNumber", "DWordMemory", "WordIO", "Memory32Fixed", "Interrupt (ResourceConsumer, Edge", "_S5_"]
        {
            #expect(source.contains(expected), "the disassembly lacks \(expected):\n\(source)")
        }
        let compilation = try iasl(["-p", "recompiled", "dsdt.dsl"], in: directory)
        #expect(compilation.status == 0, "iasl could not compile the disassembled DSDT:\n\(compilation.output)")
        #expect(complaints(compilation.output).isEmpty, "\(compilation.output)")
    }
}
