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

    /// The IPv6 addresses of every link, with their prefix lengths.
    public func addresses6() throws -> [(index: Int32, address: IPv6Address, prefix: Int)] {
        try transport.execute(AddressRequests.dump6(sequence: transport.nextSequence()), operation: "netlink: list IPv6 addresses")
            .compactMap(Replies.address6)
    }

    public func routeDestinations6() throws -> [IPv6Network] {
        try transport.execute(RouteRequests.dump6(sequence: transport.nextSequence()), operation: "netlink: list IPv6 routes")
            .compactMap(Replies.routeDestination6)
    }

    /// What a new network's IPv6 subnet must not overlap: the networks of the host's IPv6
    /// addresses and the destinations of its IPv6 unicast routes, less link-local (fe80::/10,
    /// on every link), loopback and multicast, which no container subnet is chosen from.
    public func hostNetworks6() throws -> [IPv6Network] {
        let networks = try addresses6().map { IPv6Network(network: $0.address, prefix: $0.prefix) } + routeDestinations6()
        return networks.filter { !$0.network.isLinkLocal && !$0.network.isLoopback && !$0.network.isMulticast }
    }

    /// Creates the bridge unless it exists (another `contain` may create it at the same moment).
    public func ensureBridge(name: String, mtu: UInt32?, mac: [UInt8]? = nil) throws -> LinkInfo {
        if let existing = try link(named: name) { return existing }
        do {
            _ = try transport.execute(LinkRequests.createBridge(name: name, mtu: mtu, mac: mac, sequence: transport.nextSequence()),
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

    /// Adds `address/prefix` to link `index`, usable at once (no duplicate address detection);
    /// an address already there is fine.
    public func ensureAddress(index: Int32, address: IPv6Address, prefix: Int) throws {
        do { try addAddress(index: index, address: address, prefix: prefix) } catch let error as SystemError where error.errno == EEXIST {}
    }

    public func addAddress(index: Int32, address: IPv6Address, prefix: Int) throws {
        _ = try transport.execute(AddressRequests.add(index: index, address: address, prefix: prefix, sequence: transport.nextSequence()),
                                  operation: "netlink: add address \(address)/\(prefix)")
    }

    public func addDefaultRoute(via gateway: IPv6Address) throws {
        _ = try transport.execute(RouteRequests.addDefault(gateway: gateway, sequence: transport.nextSequence()),
                                  operation: "netlink: add default route via \(gateway)")
    }

    public func addDefaultRoute(via gateway: IPv4Address) throws {
        _ = try transport.execute(RouteRequests.addDefault(gateway: gateway, sequence: transport.nextSequence()),
                                  operation: "netlink: add default route via \(gateway)")
    }

    /// `destination` (nil: default) via `gateway`, made or replaced.
    public func replaceRoute(to destination: IPv4Network?, via gateway: IPv4Address) throws {
        _ = try transport.execute(RouteRequests.replace(destination: destination, gateway: gateway, sequence: transport.nextSequence()),
                                  operation: "netlink: route \(destination.map { "\($0)" } ?? "default") via \(gateway)")
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
