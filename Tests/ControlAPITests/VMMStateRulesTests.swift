import ControlAPI
import Testing

@Suite("Firecracker lifecycle rules")
struct VMMStateRulesTests {
    @Test func bootPath() throws {
        var rules = VMMStateRules()
        #expect(rules.state == .notStarted)
        #expect(throws: VMMError.self) { try rules.checkInstanceStart() }  // no boot source yet
        #expect(throws: VMMError.self) { try rules.checkPause() }
        #expect(throws: VMMError.self) { try rules.checkSendCtrlAltDel() }
        #expect(throws: VMMError.self) { try rules.checkSnapshotCreate() }
        #expect(throws: VMMError.self) { try rules.checkDeviceUpdate() }
        try rules.checkSnapshotLoad()

        try rules.checkPreBootConfiguration()
        rules.recordPreBootConfiguration(isBootSource: true)
        #expect(throws: VMMError.self) { try rules.checkSnapshotLoad() }
        try rules.checkInstanceStart()
        rules.recordStarted()
        #expect(rules.state == .running)

        #expect(throws: VMMError.self) { try rules.checkPreBootConfiguration() }
        #expect(throws: VMMError.self) { try rules.checkInstanceStart() }
        #expect(throws: VMMError.self) { try rules.checkSnapshotCreate() }
        try rules.checkSendCtrlAltDel()
        try rules.checkDeviceUpdate()
        try rules.checkResume()  // resuming a running VM is a no-op, not an error
        try rules.checkPause()
        rules.recordPaused()
        #expect(rules.state == .paused)
        try rules.checkPause()
        try rules.checkSnapshotCreate()
        #expect(throws: VMMError.self) { try rules.checkSendCtrlAltDel() }
        try rules.checkResume()
        rules.recordResumed()
        #expect(rules.state == .running)
    }

    @Test(arguments: [false, true])
    func restorePath(resumed: Bool) throws {
        var rules = VMMStateRules()
        try rules.checkSnapshotLoad()
        rules.recordSnapshotLoaded(resumed: resumed)
        #expect(rules.state == (resumed ? .running : .paused))
        #expect(throws: VMMError.self) { try rules.checkSnapshotLoad() }
        #expect(throws: VMMError.self) { try rules.checkPreBootConfiguration() }
        #expect(throws: VMMError.self) { try rules.checkInstanceStart() }
        try rules.checkPause()
        try rules.checkResume()
    }

    @Test func messagesMatchFirecracker() {
        var rules = VMMStateRules()
        rules.recordStarted()
        #expect(throws: VMMError("The requested operation is not supported after starting the microVM.")) {
            try rules.checkPreBootConfiguration()
        }
        #expect(throws: VMMError("The requested operation is not supported before starting the microVM.")) {
            try VMMStateRules().checkPause()
        }
    }
}
