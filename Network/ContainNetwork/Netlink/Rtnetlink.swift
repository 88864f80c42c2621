import CLibmnl
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// Link, address and route operations in the network namespace of the transport's socket.
/// Each builds its request with LinkRequests/AddressRequests/RouteRequests and runs it.
public struct Rtnetlink {
    /// The loopback device is always index 1 in a network namespace.
    public static let loopbackIndex: Int32 = 1

    public let transport: NetlinkTransport
    public init(transport: NetlinkTransport) { self.transport = transport }

    public func setUp(index: Int32) throws {
        _ = try transport.execute(LinkRequests.setUp(index: index, sequence: transport.nextSequence()),
                                  operation: "netlink: set link \(index) up")
    }

    /// The link called `name`, or nil when there is none.
    public func link(named name: String) throws -> LinkInfo? {
        do {
            let replies = try transport.execute(LinkRequests.get(name: name, sequence: transport.nextSequence()),
                                                operation: "netlink: get link \(name)")
            return replies.lazy.compactMap(Replies.link).first
        } catch let error as SystemError where error.errno == ENODEV {
            return nil
        }
    }

    public func links() throws -> [LinkInfo] {
        try transport.execute(LinkRequests.dump(sequence: transport.nextSequence()), operation: "netlink: list links")
            .compactMap(Replies.link)
    }

    public func addresses() throws -> [AddressInfo] {
        try transport.execute(AddressRequests.dump(sequence: transport.nextSequence()), operation: "netlink: list addresses")
            .compactMap(Replies.address)
    }

    public func routeDestinations() throws -> [IPv4Network] {
        try transport.execute(RouteRequests.dump(sequence: transport.nextSequence()), operation: "netlink: list routes")
            .compactMap(Replies.routeDestination)
    }

    /// Creates the bridge unless it exists (another `contain` may create it at the same moment).
    public func ensureBridge(name: String, mtu: UInt32?) throws -> LinkInfo {
        if let existing = try link(named: name) { return existing }
        do {
            _ = try transport.execute(LinkRequests.createBridge(name: name, mtu: mtu, sequence: transport.nextSequence()),
                                      operation: "netlink: create bridge \(name)")
        } catch let error as SystemError where error.errno == EEXIST {}
        guard let created = try link(named: name) else { throw SystemError("netlink: create bridge \(name)", errno: ENODEV) }
        return created
    }

    /// Adds `address/prefix` to link `index`; an address already there is fine.
    public func ensureAddress(index: Int32, address: IPv4Address, prefix: Int) throws {
        do { try addAddress(index: index, address: address, prefix: prefix) } catch let error as SystemError where error.errno == EEXIST {}
    }

    public func addAddress(index: Int32, address: IPv4Address, prefix: Int) throws {
        _ = try transport.execute(AddressRequests.add(index: index, address: address, prefix: prefix, sequence: transport.nextSequence()),
                                  operation: "netlink: add address \(address)/\(prefix)")
    }

    public func addDefaultRoute(via gateway: IPv4Address) throws {
        _ = try transport.execute(RouteRequests.addDefault(gateway: gateway, sequence: transport.nextSequence()),
                                  operation: "netlink: add default route via \(gateway)")
    }

    /// A veth pair: `name` here attached to `master`, its peer born as `peerName` in the network
    /// namespace of `peerNamespacePID`.
    public func createVeth(name: String, peerName: String, peerNamespacePID: Int32, master: Int32?, mtu: UInt32?) throws {
        _ = try transport.execute(LinkRequests.createVeth(name: name, peerName: peerName, peerNamespacePID: peerNamespacePID,
                                                          master: master, mtu: mtu, sequence: transport.nextSequence()),
                                  operation: "netlink: create veth \(name)")
    }

    /// A veth pair: `name` here attached to `master`, its peer born as `peerName` in
    /// `peerNamespace` (a process's, or the one an open namespace file refers to).
    public func createVeth(name: String, peerName: String, peerNamespace: PeerNamespace, peerMAC: [UInt8]? = nil,
                           master: Int32?, mtu: UInt32?) throws {
        _ = try transport.execute(LinkRequests.createVeth(name: name, peerName: peerName, peerNamespace: peerNamespace, peerMAC: peerMAC,
                                                          master: master, mtu: mtu, sequence: transport.nextSequence()),
                                  operation: "netlink: create veth \(name)")
    }

    public func delete(index: Int32, name: String) throws {
        _ = try transport.execute(LinkRequests.delete(index: index, sequence: transport.nextSequence()),
                                  operation: "netlink: delete link \(name)")
    }
}
