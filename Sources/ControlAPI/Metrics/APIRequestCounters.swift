import Synchronization

/// How many API requests of each kind the VMM answered, and how many it refused, grouped the
/// way Firecracker's metrics group them ("put_api_requests": {"drive_count": …,
/// "drive_fails": …}). A request is counted when the backend answers it: a fail is one the
/// backend refused. Requests the router refuses (bad JSON, an unknown route) are answered by
/// the server before any backend sees them and are not counted.
public final class APIRequestCounters: Sendable {
    /// group → counter name → total since the VMM started.
    private let totals = Mutex<[String: [String: UInt64]]>([:])

    public init() {}

    func record(_ route: APIRouteMetric, failed: Bool) {
        totals.withLock { totals in
            totals[route.group, default: [:]]["\(route.name)_count", default: 0] += 1
            if failed { totals[route.group, default: [:]]["\(route.name)_fails", default: 0] += 1 }
        }
    }

    /// Every counter so far, as totals.
    public var snapshot: [String: [String: UInt64]] { totals.withLock { $0 } }
}

/// A route's place in the metrics: its group (by HTTP method) and its name in that group.
struct APIRouteMetric: Equatable, Sendable {
    var group: String
    var name: String

    static func get(_ name: String) -> APIRouteMetric { APIRouteMetric(group: "get_api_requests", name: name) }
    static func put(_ name: String) -> APIRouteMetric { APIRouteMetric(group: "put_api_requests", name: name) }
    static func patch(_ name: String) -> APIRouteMetric { APIRouteMetric(group: "patch_api_requests", name: name) }
}
