import CLibmnl
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// Everything NetworkManager does to the host besides its own files: links over rtnetlink and
/// contain's nftables table. Only the calls whose order matters are here, so a test can put a
/// recorder in its place, script an error at any step (ENODEV, EEXIST, ENOSPC) and check what
/// was done and undone. `KernelNetworkHost` is the real one.
public protocol NetworkHost: AnyObject {
    /// Every link, with its flags and counters.
    func links() throws -> [LinkInfo]
    /// The link called `name`, or nil when there is none.
    func link(named name: String) throws -> LinkInfo?
    /// The networks of the host's addresses and the destinations of its routes: what a new
    /// network's subnet must not overlap.
    func hostNetworks() throws -> [IPv4Network]
    /// The bridge called `name`, created unless it exists (a concurrent creation is fine).
    func ensureBridge(name: String, mtu: UInt32?, mac: [UInt8]) throws -> LinkInfo
    /// `address/prefix` on link `index`; an address already there is fine.
    func ensureAddress(index: Int32, address: IPv4Address, prefix: Int) throws
    /// The same for an IPv6 address (without duplicate address detection: usable at once).
    func ensureAddress6(index: Int32, address: IPv6Address, prefix: Int) throws
    /// The host's IPv6 networks (addresses and routes, not link-local), which a new network's
    /// IPv6 subnet must not overlap.
    func hostNetworks6() throws -> [IPv6Network]
    func setUp(index: Int32) throws
    func deleteLink(index: Int32, name: String) throws
    /// A veth pair: `name` here, attached to `master` and up; its peer born as `peerName` in
    /// `peerNamespace`.
    func createVeth(name: String, peerName: String, peerNamespace: PeerNamespace, peerMAC: [UInt8]?, master: Int32?, mtu: UInt32?) throws
    /// Replaces contain's table with the rules of `networks` and the `published` ports,
    /// atomically; with no networks the table goes.
    func installFirewall(networks: [NetworkDefinition], published: [FirewallPlan.ContainerPorts]) throws
    /// Adds one container's ports to the installed table, its chain and the jump to it, in one
    /// batch: EEXIST when that chain is there already, ENOENT when the table is not.
    func addPorts(_ ports: FirewallPlan.ContainerPorts) throws
    /// Takes the ports of the chain `chain` out (its jump, its rules, the chain) in one batch;
    /// gone already is fine.
    func removePorts(chain: String) throws
    /// Whether the rules of `network` are in place.
    func isFirewallInstalled(network: String) throws -> Bool
    /// Other tables' forward chains that drop by default (see Firewall.forwardDropChains).
    func forwardDropChains() throws -> [Firewall.ForeignChain]
}

extension NetworkHost {
    public func forwardDropChains() throws -> [Firewall.ForeignChain] { [] }
}

/// The host as the kernel has it, in the network namespace of the calling thread: links through
/// Rtnetlink over a libmnl socket, rules through Firewall (libnftnl). Each call opens its own
/// socket and closes it before returning, so nothing is left open for a container's init to
/// inherit.
public final class KernelNetworkHost: NetworkHost {
    private let firewall = Firewall()

    public init() {}

    private func rtnetlink() throws -> Rtnetlink { Rtnetlink(transport: try MnlSocket()) }

    public func links() throws -> [LinkInfo] { try rtnetlink().links() }

    public func link(named name: String) throws -> LinkInfo? { try rtnetlink().link(named: name) }

    public func hostNetworks() throws -> [IPv4Network] {
        let rt = try rtnetlink()
        return try rt.addresses().map(\.network) + rt.routeDestinations()
    }

    public func hostNetworks6() throws -> [IPv6Network] { try rtnetlink().hostNetworks6() }

    public func forwardDropChains() throws -> [Firewall.ForeignChain] { try firewall.forwardDropChains() }

    /// Also sets route_localnet on the bridge (its own /proc/sys entry, in this namespace): DNAT
    /// of the host's own connections to 127.0.0.1 may then leave through it, which is how
    /// published ports answer on the host's loopback (the firewall's guard chain drops whatever
    /// arrives on the bridge for 127.0.0.0/8).
    public func ensureBridge(name: String, mtu: UInt32?, mac: [UInt8]) throws -> LinkInfo {
        let bridge = try rtnetlink().ensureBridge(name: name, mtu: mtu, mac: mac)
        try? Files.write("/proc/sys/net/ipv4/conf/\(name)/route_localnet", "1")
        return bridge
    }

    public func ensureAddress(index: Int32, address: IPv4Address, prefix: Int) throws {
        try rtnetlink().ensureAddress(index: index, address: address, prefix: prefix)
    }

    public func ensureAddress6(index: Int32, address: IPv6Address, prefix: Int) throws {
        try rtnetlink().ensureAddress(index: index, address: address, prefix: prefix)
    }

    public func setUp(index: Int32) throws { try rtnetlink().setUp(index: index) }

    public func deleteLink(index: Int32, name: String) throws { try rtnetlink().delete(index: index, name: name) }

    public func createVeth(name: String, peerName: String, peerNamespace: PeerNamespace, peerMAC: [UInt8]?, master: Int32?, mtu: UInt32?) throws {
        try rtnetlink().createVeth(name: name, peerName: peerName, peerNamespace: peerNamespace, peerMAC: peerMAC, master: master, mtu: mtu)
    }

    public func installFirewall(networks: [NetworkDefinition], published: [FirewallPlan.ContainerPorts]) throws {
        try firewall.install(networks: networks, published: published)
    }

    public func addPorts(_ ports: FirewallPlan.ContainerPorts) throws { try firewall.addPorts(ports) }

    public func removePorts(chain: String) throws { try firewall.removePorts(chain: chain) }

    public func isFirewallInstalled(network: String) throws -> Bool {
        try firewall.isInstalled(network: network)
    }
}
