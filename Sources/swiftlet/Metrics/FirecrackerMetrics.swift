import ControlAPI
import Devices
import Machine

/// Swiftlet's counters under Firecracker's metric names: what a metrics line reports.
enum FirecrackerMetrics {
    /// Where the counters come from; the VM is nil before it exists.
    struct Sources {
        var apiRequests: [String: [String: UInt64]]
        var exits: VCPUExitCounters.Counts?
        var devices: MachineDeviceCounters?
        var serialBytes: UInt64
        var serialDroppedBytes: UInt64
    }

    /// Every counter's total, by group. Disks and interfaces appear summed ("block", "net") and
    /// one group each ("block_<drive_id>", "net_<iface_id>"), as Firecracker reports them.
    static func totals(_ sources: Sources) -> [String: [String: UInt64]] {
        var groups = sources.apiRequests
        groups["uart"] = ["write_count": sources.serialBytes, "missed_write_count": sources.serialDroppedBytes]
        if let exits = sources.exits {
            groups["vcpu"] = [
                "exit_io_in": exits.portIn, "exit_io_out": exits.portOut, "exit_mmio_read": exits.mmioRead,
                "exit_mmio_write": exits.mmioWrite, "exit_stop": exits.stops, "failures": exits.failures,
            ]
        }
        let devices = sources.devices ?? MachineDeviceCounters()
        groups["block"] = [:]
        for (id, counters) in devices.disks {
            let values = block(counters)
            groups["block_\(id)"] = values
            groups["block"]?.merge(values, uniquingKeysWith: +)
        }
        if let entropy = devices.entropy {
            groups["entropy"] = [
                "entropy_event_count": entropy.requests, "entropy_bytes": entropy.bytes,
                "entropy_event_fails": entropy.malformedRequests, "host_rng_fails": entropy.sourceFailures,
            ]
        }
        groups["net"] = [:]
        for (id, counters) in devices.netInterfaces {
            let values = net(counters)
            groups["net_\(id)"] = values
            groups["net"]?.merge(values, uniquingKeysWith: +)
        }
        return groups
    }

    private static func block(_ counters: VirtioBlock.Counters) -> [String: UInt64] {
        [
            "read_count": counters.reads, "write_count": counters.writes, "flush_count": counters.flushes,
            "read_bytes": counters.readBytes, "write_bytes": counters.writtenBytes, "invalid_reqs_count": counters.failedRequests,
        ]
    }

    private static func net(_ counters: VirtioNet.Counters) -> [String: UInt64] {
        [
            "rx_packets_count": UInt64(counters.received), "rx_bytes_count": counters.receivedBytes,
            "tx_packets_count": UInt64(counters.transmitted), "tx_bytes_count": counters.transmittedBytes,
            "tx_fails": UInt64(counters.refusedTransmits), "tx_malformed_frames": UInt64(counters.malformedTransmits),
        ]
    }
}
