/// Frames copied out of the guest's transmit ring that are not yet written to the backend.
///
/// Transmit gives each chain back to the guest as soon as its frame is copied here, and the
/// frames go to the tap after the pass, once the guest has had its used-ring entries and its
/// interrupt. A write to a tap runs the host's receive path (its TCP included) inside the
/// system call, and the guest's TCP sends little more until the previous transmission
/// completes (TCP small queues), so completing first lets both sides work at once.
///
/// The room is bounded: a frame that does not fit has the staged ones written first.
struct TransmitStaging {
    /// Room for four of the largest frames, or a few thousand small ones (acknowledgements).
    static let capacity = 4 * VirtioNet.maxPacketSize

    private var bytes = [UInt8](repeating: 0, count: TransmitStaging.capacity)
    private var frames: [Range<Int>] = []

    var isEmpty: Bool { frames.isEmpty }

    /// Whether a frame of `length` bytes fits next to those staged.
    func hasRoom(for length: Int) -> Bool {
        (frames.last?.upperBound ?? 0) + length <= Self.capacity
    }

    /// Stages one frame of `length` bytes (which must fit), filled in by `fill`.
    mutating func stage(length: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        let start = frames.last?.upperBound ?? 0
        precondition(start + length <= Self.capacity, "staged past the transmit staging's capacity")
        try bytes.withUnsafeMutableBytes { try fill(UnsafeMutableRawBufferPointer(rebasing: $0[start..<start + length])) }
        frames.append(start..<start + length)
    }

    /// Writes every staged frame to `backend`, in order, and empties the staging. Returns how
    /// many were sent (with their bytes) and how many the host refused or failed.
    mutating func flush(to backend: any NetBackend) -> (sent: Int, sentBytes: UInt64, refused: Int) {
        var result = (sent: 0, sentBytes: UInt64(0), refused: 0)
        bytes.withUnsafeBytes { staged in
            for frame in frames {
                if (try? backend.send(UnsafeRawBufferPointer(rebasing: staged[frame]))) == true {
                    result.sent += 1
                    result.sentBytes += UInt64(frame.count)
                } else {
                    result.refused += 1
                }
            }
        }
        frames.removeAll(keepingCapacity: true)
        return result
    }
}
