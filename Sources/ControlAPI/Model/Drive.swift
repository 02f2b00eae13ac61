import SwiftletCore

/// `PUT /drives/{drive_id}` and each entry of a config file's "drives" list: a virtio-blk
/// disk backed by a host file.
public struct Drive: Sendable, Equatable {
    public var driveID: String
    public var pathOnHost: String
    public var isRootDevice: Bool
    public var isReadOnly: Bool
    public var rateLimiter: RateLimitConfiguration?
    public var cacheType: CacheType
    /// Firecracker's `io_engine`. `Async` goes through io_uring (a thread pool where the kernel
    /// refuses it), with many requests in flight; `Sync` (the default, as in Firecracker) runs
    /// one request at a time.
    public var ioEngine: IOEngine
    /// Swiftlet's `direct`: the image is opened with O_DIRECT, bypassing the host page cache.
    public var direct: Bool
    /// Swiftlet's `num_queues`: the disk's request queues; nil gives one per vCPU.
    public var queueCount: Int?

    public enum IOEngine: String, Sendable, CaseIterable {
        case sync = "Sync"
        case async = "Async"
    }

    /// Firecracker's `cache_type`: what the guest's flush does. Swiftlet's default is
    /// `Writeback` (Firecracker's is `Unsafe`): a guest that flushed its data keeps it through
    /// a host crash unless the client asks otherwise.
    public enum CacheType: String, Sendable, CaseIterable {
        /// Flushes are acknowledged without syncing the image.
        case unsafe = "Unsafe"
        /// Flushes sync the image (fdatasync).
        case writeback = "Writeback"
    }

    public init(
        driveID: String, pathOnHost: String, isRootDevice: Bool, isReadOnly: Bool = false, rateLimiter: RateLimitConfiguration? = nil,
        cacheType: CacheType = .writeback, ioEngine: IOEngine = .sync, direct: Bool = false, queueCount: Int? = nil
    ) {
        self.driveID = driveID
        self.pathOnHost = pathOnHost
        self.isRootDevice = isRootDevice
        self.isReadOnly = isReadOnly
        self.rateLimiter = rateLimiter
        self.cacheType = cacheType
        self.ioEngine = ioEngine
        self.direct = direct
        self.queueCount = queueCount
    }
}

extension Drive {
    init(json: JSONValue, context: String) throws(APIFault) {
        var reader = try JSONObjectReader(json, context: context)
        let id = try reader.required("drive_id", .string, limit: MachineLimits.checkDriveID)
        let path = try reader.requiredNonEmptyString("path_on_host")
        let isRoot = try reader.required("is_root_device", .bool)
        let isReadOnly = try reader.optional("is_read_only", .bool) ?? false
        try reader.requireUnsupported("partuuid", toBeOneOf: [], feature: "a root partition UUID")
        let cacheType = try reader.optional("cache_type", .oneOfTheCases) ?? CacheType.writeback
        let ioEngine = try reader.optional("io_engine", .oneOfTheCases) ?? IOEngine.sync
        let direct = try reader.optional("direct", .bool) ?? false
        let queueCount = try reader.optional("num_queues", .integer, limit: MachineLimits.checkDiskQueueCount)
        let rateLimiter = try reader.value("rate_limiter").map { json throws(APIFault) in
            try RateLimitConfiguration(json: json, context: "\(context).rate_limiter")
        }
        try reader.requireUnsupported("socket", toBeOneOf: [], feature: "vhost-user block")
        try reader.rejectUnknownFields()
        self.init(
            driveID: id, pathOnHost: path, isRootDevice: isRoot, isReadOnly: isReadOnly, rateLimiter: rateLimiter, cacheType: cacheType,
            ioEngine: ioEngine, direct: direct, queueCount: queueCount)
    }

    var jsonValue: JSONValue {
        .object([
            "drive_id": .string(driveID),
            "path_on_host": .string(pathOnHost),
            "is_root_device": .bool(isRootDevice),
            "is_read_only": .bool(isReadOnly),
            "partuuid": .null,
            "cache_type": .string(cacheType.rawValue),
            "io_engine": .string(ioEngine.rawValue),
            "direct": .bool(direct),
            "num_queues": queueCount.map { .integer(Int64($0)) } ?? .null,
            "rate_limiter": rateLimiter?.jsonValue ?? .null,
        ])
    }
}
