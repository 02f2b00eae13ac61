extension Virtqueue {
    /// Serves up to a queue's worth of available chains, one at a time: `serve` handles a
    /// chain and returns how many bytes it wrote into it, and the chain goes to the used ring
    /// with that length. The transport calls the device again when more are available, so
    /// one call stays bounded.
    public func serveAvailableChains(_ serve: (DescriptorChain) throws -> UInt32) throws {
        for _ in 0..<Int(size) {
            guard let chain = try popChain() else { return }
            try addUsed(head: chain.head, length: try serve(chain))
        }
    }
}
