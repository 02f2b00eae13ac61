import Foundation
import Logging
import SwiftletCore

// TRANSITIONAL (issue 16): keeps the CLI building until its helper's branch is merged. The
// lead deletes this file once the CLI calls `boot`/`restore` with `kvmDevicePath:` and uses
// `BootConfiguration` and `MachineLimits`.

public typealias MachineConfiguration = BootConfiguration

extension BootConfiguration {
    public static let memoryRangeMiB = MachineLimits.memoryMiB
    public static let vcpuRange = MachineLimits.vcpuCount
}

extension Machine {
    private static var environmentKVMDevicePath: String {
        ProcessInfo.processInfo.environment["SWIFTLET_KVM_DEVICE"] ?? defaultKVMDevicePath
    }

    public static func boot(
        _ configuration: BootConfiguration, serialOutput: @escaping @Sendable ([UInt8]) -> Void, logger: Logger
    ) throws(MachineError) -> Machine {
        try boot(configuration, kvmDevicePath: environmentKVMDevicePath, serialOutput: serialOutput, logger: logger)
    }

    public static func restore(
        statePath: String, memoryPath: String, serialOutput: @escaping @Sendable ([UInt8]) -> Void, logger: Logger
    ) throws(MachineError) -> Machine {
        try restore(
            statePath: statePath, memoryPath: memoryPath, kvmDevicePath: environmentKVMDevicePath, serialOutput: serialOutput, logger: logger)
    }
}
