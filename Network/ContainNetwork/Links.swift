/// Link operations in the network namespace of the transport's socket.
public struct Links {
    /// The loopback device is always index 1 in a network namespace.
    public static let loopbackIndex: Int32 = 1

    public let transport: NetlinkTransport
    public init(transport: NetlinkTransport) { self.transport = transport }

    public func setUp(index: Int32) throws {
        _ = try transport.execute(LinkRequests.setUp(index: index, sequence: transport.nextSequence()),
                                  operation: "netlink set link \(index) up")
    }
}
