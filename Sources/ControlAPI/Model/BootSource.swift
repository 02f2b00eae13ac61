import SwiftletCore

/// `PUT /boot-source` and the "boot-source" section of a config file.
public struct BootSource: Sendable, Equatable {
    public var kernelImagePath: String
    /// nil means "use the VMM's default command line".
    public var bootArgs: String?
    public var initrdPath: String?

    public init(kernelImagePath: String, bootArgs: String? = nil, initrdPath: String? = nil) {
        self.kernelImagePath = kernelImagePath
        self.bootArgs = bootArgs
        self.initrdPath = initrdPath
    }
}

extension BootSource {
    init(json: JSONValue, context: String = "boot-source") throws(APIFault) {
        var reader = try JSONObjectReader(json, context: context)
        let kernel = try reader.requiredNonEmptyString("kernel_image_path")
        let bootArgs = try reader.optional("boot_args", .string)
        let initrd = try reader.optional("initrd_path", .string)
        try reader.rejectUnknownFields()
        self.init(kernelImagePath: kernel, bootArgs: bootArgs, initrdPath: initrd)
    }

    var jsonValue: JSONValue {
        .object([
            "kernel_image_path": .string(kernelImagePath),
            "boot_args": bootArgs.map(JSONValue.string) ?? .null,
            "initrd_path": initrdPath.map(JSONValue.string) ?? .null,
        ])
    }
}
