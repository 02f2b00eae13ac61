/// Firecracker's `snapshot_type`: a full snapshot holds all of guest RAM; a diff snapshot only
/// the pages written since the previous snapshot (needs `track_dirty_pages`), everything else
/// a hole, to be merged onto its base with `swiftlet snapshot-rebase`.
public enum SnapshotType: String, Codable, Sendable, Equatable {
    case full = "Full"
    case diff = "Diff"
}
