import Foundation
import Testing
@testable import Machine

@Suite struct DirtyTrackingErrorTests {
    /// What InstanceStart answers on a KVM without dirty logging: the feature, the flag refused
    /// and the errno's text.
    @Test func theRefusalNamesTheFeatureAndTheFlag() {
        let error = MachineError.dirtyPageTrackingUnavailable(kvmDevicePath: "/dev/kvm", errno: EINVAL)
        #expect(
            error.description
                == "dirty page tracking (track_dirty_pages) is unavailable: /dev/kvm refused KVM_MEM_LOG_DIRTY_PAGES (Invalid argument)")
    }

    @Test func theSnapshotTypeIsRecordedUnderFirecrackersNames() throws {
        #expect(SnapshotType.diff.rawValue == "Diff")
        #expect(try JSONDecoder().decode(SnapshotType.self, from: Data(#""Full""#.utf8)) == .full)
    }
}
