import CLibmnl
import ContainSystem
import Glibc
import Testing
@testable import ContainNetwork

/// A host that records every call in order instead of touching the kernel. It keeps the links
/// it was asked to make and which networks' rules are in, and throws a scripted error at the
/// Nth call of a kind.
final class RecordingHost: NetworkHost {
    enum Call: Equatable, CustomStringConvertible {
        case links
        case link(String)
        case hostNetworks
        case ensureBridge(String)
        case ensureAddress(index: Int32, address: String)
        case setUp(index: Int32)
        case deleteLink(String)
        case createVeth(name: String, peer: String, namespace: PeerNamespace, master: Int32?)
        /// Networks by name, publications as `ports-aaaa1111 8080:80/tcp->10.88.0.2` (chain, mapping, address).
        case installFirewall(networks: [String], published: [String])
        case isFirewallInstalled(String)
        /// One container's chain and its publications, as above.
        case addPorts(chain: String, published: [String])
        case removePorts(String)

        var kind: Kind {
            switch self {
            case .links: .links
            case .link: .link
            case .hostNetworks: .hostNetworks
            case .ensureBridge: .ensureBridge
            case .ensureAddress: .ensureAddress
            case .setUp: .setUp
            case .deleteLink: .deleteLink
            case .createVeth: .createVeth
            case .installFirewall: .installFirewall
            case .isFirewallInstalled: .isFirewallInstalled
            case .addPorts: .addPorts
            case .removePorts: .removePorts
            }
        }

        var description: String {
            switch self {
            case .links: "links"
            case .link(let name): "link \(name)"
            case .hostNetworks: "hostNetworks"
            case .ensureBridge(let name): "ensureBridge \(name)"
            case .ensureAddress(let index, let address): "ensureAddress \(index) \(address)"
            case .setUp(let index): "setUp \(index)"
            case .deleteLink(let name): "deleteLink \(name)"
            case .createVeth(let name, let peer, let namespace, let master): "createVeth \(name) \(peer) \(namespace) \(master.map(String.init) ?? "-")"
            case .installFirewall(let networks, let published): "installFirewall \(networks) \(published)"
            case .isFirewallInstalled(let name): "isFirewallInstalled \(name)"
            case .addPorts(let chain, let published): "addPorts \(chain) \(published)"
            case .removePorts(let chain): "removePorts \(chain)"
            }
        }
    }

    enum Kind: Hashable {
        case links, link, hostNetworks, ensureBridge, ensureAddress, setUp, deleteLink, createVeth, installFirewall, isFirewallInstalled
        case addPorts, removePorts
    }

    private(set) var calls: [Call] = []
    private var counts: [Kind: Int] = [:]
    private var scripted: [Kind: [Int: any Error]] = [:]
    /// The links the host has, by name.
    var interfaces: [String: LinkInfo] = [:]
    /// Networks whose rules are in, from the last install.
    var installed: Set<String> = []
    /// The containers' port chains in the table, as the kernel would have them.
    var portChains: Set<String> = []
    var routed: [IPv4Network] = []
    /// The file (device, inode) a `.file` namespace descriptor referred to when the veth was made.
    private(set) var namespaceFiles: [(dev_t, ino_t)] = []
    private var nextIndex: Int32 = 10

    /// Makes the `call`th call of `kind` (counted from 1, over the host's life) throw `error`.
    func fail(_ kind: Kind, call: Int = 1, with error: any Error) { scripted[kind, default: [:]][call] = error }

    func calls(_ kind: Kind) -> [Call] { calls.filter { $0.kind == kind } }

    /// A link that is already there, as after an earlier run.
    @discardableResult
    func addLink(_ name: String, up: Bool = true) -> LinkInfo {
        nextIndex += 1
        let link = LinkInfo(index: nextIndex, name: name, flags: up ? UInt32(IFF_UP) : 0, master: nil, mtu: nil, mac: [], stats: nil)
        interfaces[name] = link
        return link
    }

    private func record(_ call: Call) throws {
        calls.append(call)
        let n = counts[call.kind, default: 0] + 1
        counts[call.kind] = n
        if let error = scripted[call.kind]?[n] { throw error }
    }

    func links() throws -> [LinkInfo] {
        try record(.links)
        return interfaces.values.sorted { $0.index < $1.index }
    }

    func link(named name: String) throws -> LinkInfo? {
        try record(.link(name))
        return interfaces[name]
    }

    func hostNetworks() throws -> [IPv4Network] {
        try record(.hostNetworks)
        return routed
    }

    func ensureBridge(name: String, mtu: UInt32?, mac: [UInt8]) throws -> LinkInfo {
        try record(.ensureBridge(name))
        return interfaces[name] ?? addLink(name, up: false)
    }

    func ensureAddress(index: Int32, address: IPv4Address, prefix: Int) throws {
        try record(.ensureAddress(index: index, address: "\(address)/\(prefix)"))
    }

    func ensureAddress6(index: Int32, address: IPv6Address, prefix: Int) throws {
        try record(.ensureAddress(index: index, address: "\(address)/\(prefix)"))
    }

    var routed6: [IPv6Network] = []
    func hostNetworks6() throws -> [IPv6Network] { routed6 }

    func setUp(index: Int32) throws {
        try record(.setUp(index: index))
        for (name, link) in interfaces where link.index == index { interfaces[name]?.flags |= UInt32(IFF_UP) }
    }

    func deleteLink(index: Int32, name: String) throws {
        try record(.deleteLink(name))
        interfaces[name] = nil
    }

    func createVeth(name: String, peerName: String, peerNamespace: PeerNamespace, peerMAC: [UInt8]?, master: Int32?, mtu: UInt32?) throws {
        if case .file(let fd) = peerNamespace {
            var st = stat()
            if fstat(fd, &st) == 0 { namespaceFiles.append((st.st_dev, st.st_ino)) }
        }
        try record(.createVeth(name: name, peer: peerName, namespace: peerNamespace, master: master))
    }

    static func describe(_ ports: FirewallPlan.ContainerPorts) -> [String] {
        ports.mappings.map { "\(ports.chain) \($0)->\(ports.destination)" }
    }

    func installFirewall(networks: [NetworkDefinition], published: [FirewallPlan.ContainerPorts]) throws {
        try record(.installFirewall(networks: networks.map(\.name), published: published.flatMap(Self.describe)))
        installed = Set(networks.map(\.name))
        portChains = networks.isEmpty ? [] : Set(published.map(\.chain))
    }

    /// As the kernel answers: ENOENT without a table, EEXIST for a chain that is there.
    func addPorts(_ ports: FirewallPlan.ContainerPorts) throws {
        try record(.addPorts(chain: ports.chain, published: Self.describe(ports)))
        if installed.isEmpty { throw SystemError("nftables: add chain \(ports.chain)", errno: ENOENT) }
        if portChains.contains(ports.chain) { throw SystemError("nftables: add chain \(ports.chain)", errno: EEXIST) }
        portChains.insert(ports.chain)
    }

    func removePorts(chain: String) throws {
        try record(.removePorts(chain))
        portChains.remove(chain)
    }

    func isFirewallInstalled(network: String) throws -> Bool {
        try record(.isFirewallInstalled(network))
        return installed.contains(network)
    }
}

/// Store writes that fail on demand, as on a full filesystem.
final class StoreFaults {
    /// When set, every write of a `.leases` file fails with this errno.
    var leasesErrno: Int32?

    var writer: NetworkStore.Writer {
        { [unowned self] path, contents, mode in
            if let errno = self.leasesErrno, path.hasSuffix(".leases") {
                throw SystemError("write", path: path + ".tmp.\(getpid())", errno: errno)
            }
            try Files.writeAtomically(path, contents, mode: mode)
        }
    }
}

/// NetworkManager against a recording host and a store in a temporary directory: no root, no
/// interface touched. Each test has its own instance, directory and host.
@Suite final class NetworkManagerTests {
    let directory: String
    let host = RecordingHost()
    let faults = StoreFaults()
    let store: NetworkStore
    let manager: NetworkManager

    init() throws {
        var template = Array("/tmp/contain-networks-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError.last("mkdtemp") }
        directory = String(cString: made)
        store = NetworkStore(directory: directory + "/store", write: faults.writer)
        manager = NetworkManager(store: store, host: host)
    }

    deinit { try? Files.removeTree(directory) }

    static let dead = ProcessIdentity(pid: getpid(), startTime: 1)   // this pid, another start time

    func request(_ id: String, name: String? = nil, address: String? = nil, ports: [String] = [],
                 owner: ProcessIdentity = .current(), aliases: [String] = []) -> EndpointRequest {
        EndpointRequest(containerID: id, name: name, hostname: name ?? id, address: address.flatMap(IPv4Address.init),
                        owner: owner, ports: ports.map { try! PortMapping(parsing: $0) }, aliases: aliases)
    }

    func leasesFile(_ network: String) -> String? { try? Files.read(store.directory + "/\(network).leases") }

    func leasedIDs(_ network: String) throws -> [String] { try store.leases(of: network).leases.map(\.containerID) }

    /// A network on file whose bridge is up and whose rules are in, as after an earlier run.
    func existingNetwork(_ name: String = "contain", bridge: String = "contain0", subnet: String = "10.88.0.0/24",
                         leases: [Lease] = []) throws {
        try store.save(try NetworkDefinition(name: name, bridge: bridge, subnet: try IPv4Network(parsing: subnet)))
        try store.saveLeases(LeaseTable(leases: leases), of: name)
        host.addLink(bridge)
        host.installed.insert(name)
    }

    // MARK: attach

    @Test func firstAttachCreatesTheDefaultNetworkAndBringsItsBridgeUp() throws {
        host.routed = [try IPv4Network(parsing: "10.88.0.0/24")]     // taken on the host: the next /24 is chosen
        let endpoint = try manager.attach(network: "contain", request("aaaa1111cccc"))
        #expect(endpoint.network.subnet.description == "10.88.1.0/24")
        #expect(endpoint.address.description == "10.88.1.2")
        #expect(endpoint.hostInterface == "vethaaaa1111")
        #expect(endpoint.bridgeIndex == 11)
        #expect(host.calls == [
            .link("contain0"), .hostNetworks,
            .ensureBridge("contain0"), .ensureAddress(index: 11, address: "10.88.1.1/24"), .setUp(index: 11),
            .isFirewallInstalled("contain"), .links, .installFirewall(networks: ["contain"], published: []),
        ])
        #expect(try leasedIDs("contain") == ["aaaa1111cccc"])
        #expect(try store.leases(of: "contain").leases.first?.owner == .current())
    }

    /// A container's own lease found (and given back) by its line alone: an id that begins
    /// another's is not that one's, and the others' lines stay as they were.
    @Test func oneLeaseIsFoundAndReleasedByItsLineAlone() throws {
        _ = try manager.attach(network: "contain", request("aaaa1111bbbb", ports: ["8080:80"]))
        _ = try manager.attach(network: "contain", request("aaaa1111", name: "short"))
        #expect(try store.lease(of: "aaaa1111", on: "contain")?.name == "short")
        #expect(try store.lease(of: "aaaa1111bbbb", on: "contain")?.ports.map(\.description) == ["8080:80/tcp"])
        #expect(try store.lease(of: "aaaa", on: "contain") == nil)
        #expect(try store.lease(of: "aaaa1111", on: "nonesuch") == nil)
        #expect(try manager.endpoints(of: "aaaa1111").map(\.address.description) == ["10.88.0.3"])
        #expect(try store.releaseLease(containerID: "aaaa1111", of: "contain"))
        #expect(try !store.releaseLease(containerID: "aaaa1111", of: "contain"))
        #expect(try leasedIDs("contain") == ["aaaa1111bbbb"])
    }

    @Test func laterAttachesFindTheBridgeUpAndTheRulesIn() throws {
        _ = try manager.attach(network: "contain", request("aaaa1111"))
        let before = host.calls.count
        let second = try manager.attach(network: "contain", request("bbbb2222"))
        #expect(second.address.description == "10.88.0.3")
        #expect(Array(host.calls[before...]) == [
            .ensureBridge("contain0"), .ensureAddress(index: 11, address: "10.88.0.1/24"), .isFirewallInstalled("contain"),
        ])
        #expect(try leasedIDs("contain") == ["aaaa1111", "bbbb2222"])
    }

    @Test func publishedPortsAreAddedByThemselvesToAnInstalledNetwork() throws {
        try existingNetwork()
        let endpoint = try manager.attach(network: "contain", request("aaaa1111", ports: ["8080:80", "53:53/udp"]))
        #expect(endpoint.ports.map(\.description) == ["8080:80/tcp", "53:53/udp"])
        #expect(host.calls(.isFirewallInstalled) == [.isFirewallInstalled("contain")])
        #expect(host.calls(.addPorts) == [
            .addPorts(chain: "ports-aaaa1111", published: ["ports-aaaa1111 8080:80/tcp->10.88.0.2", "ports-aaaa1111 53:53/udp->10.88.0.2"]),
        ])
        #expect(host.calls(.installFirewall).isEmpty)
    }

    @Test func aNetworksFirstUseInstallsTheWholeTableWithTheContainersPorts() throws {
        _ = try manager.attach(network: "contain", request("aaaa1111", ports: ["8080:80"]))
        #expect(host.calls(.installFirewall) == [.installFirewall(networks: ["contain"], published: ["ports-aaaa1111 8080:80/tcp->10.88.0.2"])])
        #expect(host.calls(.addPorts).isEmpty)
        #expect(host.portChains == ["ports-aaaa1111"])
    }

    /// Once the network is in, containers with ports add and delete their own chains: the
    /// table is written whole only once, and after the last one no chain is left.
    @Test func laterContainersWithPortsAddAndDeleteOnlyTheirOwnChains() throws {
        let first = try manager.attach(network: "contain", request("aaaa1111", ports: ["8080:80"]))
        let second = try manager.attach(network: "contain", request("bbbb2222", ports: ["9090:90", "53:53/udp"]))
        #expect(host.calls(.addPorts) == [
            .addPorts(chain: "ports-bbbb2222", published: ["ports-bbbb2222 9090:90/tcp->10.88.0.3", "ports-bbbb2222 53:53/udp->10.88.0.3"]),
        ])
        #expect(host.portChains == ["ports-aaaa1111", "ports-bbbb2222"])
        #expect(manager.detach(first).isEmpty)
        #expect(host.portChains == ["ports-bbbb2222"])
        #expect(manager.detach(second).isEmpty)
        #expect(host.calls(.removePorts) == [.removePorts("ports-aaaa1111"), .removePorts("ports-bbbb2222")])
        #expect(host.calls(.installFirewall).count == 1)
        #expect(host.portChains.isEmpty)
        #expect(try leasedIDs("contain").isEmpty)
    }

    /// The kernel's table is not as the leases say (the chain left by an end whose rules could
    /// not be taken out, or the table removed by hand): rebuilt whole, the container's included.
    @Test(arguments: [EEXIST, ENOENT])
    func aPortsChainThatCannotBeAddedIsReconciledByAWholeInstall(errno: Int32) throws {
        _ = try manager.attach(network: "contain", request("aaaa1111", ports: ["53:53/udp"]))
        host.fail(.addPorts, with: SystemError("nftables: add chain ports-bbbb2222", errno: errno))
        _ = try manager.attach(network: "contain", request("bbbb2222", ports: ["8080:80"]))
        #expect(host.calls(.addPorts).count == 1)
        #expect(host.calls(.installFirewall).last == .installFirewall(networks: ["contain"], published: [
            "ports-aaaa1111 53:53/udp->10.88.0.2", "ports-bbbb2222 8080:80/tcp->10.88.0.3",
        ]))
        #expect(host.portChains == ["ports-aaaa1111", "ports-bbbb2222"])
    }

    /// A container's ports on its second network: a chain of their own (`-1`, as its veth),
    /// which a whole install builds the same from the lease.
    @Test func portsOnASecondNetworkHaveTheirOwnChain() throws {
        try existingNetwork()
        try existingNetwork("lab", bridge: "ct-lab", subnet: "10.89.0.0/24")
        _ = try manager.attach(network: "contain", request("aaaa1111", ports: ["8080:80"]))
        var second = request("aaaa1111", ports: ["9090:90"])
        second.index = 1
        let endpoint = try manager.attach(network: "lab", second)
        #expect(endpoint.hostInterface == "vethaaaa1111-1")
        #expect(host.calls(.addPorts).map(\.description) == [
            "addPorts ports-aaaa1111 [\"ports-aaaa1111 8080:80/tcp->10.88.0.2\"]",
            "addPorts ports-aaaa1111-1 [\"ports-aaaa1111-1 9090:90/tcp->10.89.0.2\"]",
        ])
        // A dead owner's lease with ports makes the next look rebuild the table from the leases.
        let stale = Lease(address: IPv4Address("10.88.0.9")!, containerID: "dddd0000", owner: Self.dead,
                          hostInterface: "vethdddd0000", ports: [try PortMapping(parsing: "7070:70")])
        try store.saveLeases(LeaseTable(leases: try store.leases(of: "contain").leases + [stale]), of: "contain")
        _ = try manager.status()
        #expect(host.calls(.installFirewall) == [.installFirewall(networks: ["contain", "lab"], published: [
            "ports-aaaa1111 8080:80/tcp->10.88.0.2", "ports-aaaa1111-1 9090:90/tcp->10.89.0.2",
        ])])
        #expect(manager.detach(endpoint).isEmpty)
        #expect(host.calls(.removePorts) == [.removePorts("ports-aaaa1111-1")])
        #expect(host.portChains == ["ports-aaaa1111"])
    }

    @Test func anUnknownNetworkIsNotFound() throws {
        #expect(throws: NetworkError.notFound("network `lab` not found (create it with: contain net create lab)")) {
            try self.manager.attach(network: "lab", self.request("aaaa1111"))
        }
        #expect(host.calls.isEmpty)
    }

    // MARK: conflicts

    @Test func aFixedAddressLeasedByALiveOwnerIsAConflict() throws {
        try existingNetwork()
        _ = try manager.attach(network: "contain", request("aaaa1111", address: "10.88.0.5"))
        let file = leasesFile("contain")
        let before = host.calls.count
        #expect(throws: NetworkError.conflict("address 10.88.0.5 is already leased")) {
            try self.manager.attach(network: "contain", self.request("bbbb2222", address: "10.88.0.5"))
        }
        #expect(leasesFile("contain") == file)
        #expect(host.calls.count == before)
    }

    @Test func aNameInUseOnAnotherNetworkIsAConflict() throws {
        try existingNetwork()
        try existingNetwork("lab", bridge: "ct-lab", subnet: "10.89.0.0/24")
        _ = try manager.attach(network: "contain", request("aaaa1111", name: "web"))
        let files = [leasesFile("contain"), leasesFile("lab")]
        let before = host.calls.count
        #expect(throws: NetworkError.conflict("the name `web` is already in use by a container on network `contain`")) {
            try self.manager.attach(network: "lab", self.request("bbbb2222", name: "web"))
        }
        #expect([leasesFile("contain"), leasesFile("lab")] == files)
        #expect(host.calls.count == before)
    }

    @Test func aPublishedPortAlreadyTakenIsAConflict() throws {
        try existingNetwork()
        try existingNetwork("lab", bridge: "ct-lab", subnet: "10.89.0.0/24")
        _ = try manager.attach(network: "contain", request("aaaa1111", name: "web", ports: ["8080:80"]))
        let files = [leasesFile("contain"), leasesFile("lab")]
        let before = host.calls.count
        #expect(throws: NetworkError.conflict("port 8080/tcp is already published (8080:80/tcp) by container web")) {
            try self.manager.attach(network: "lab", self.request("bbbb2222", ports: ["8080:81"]))
        }
        #expect(throws: NetworkError.conflict("port 9090/tcp is published twice")) {
            try self.manager.attach(network: "lab", self.request("bbbb2222", ports: ["9090:80", "9090:81"]))
        }
        #expect([leasesFile("contain"), leasesFile("lab")] == files)
        #expect(host.calls.count == before)
    }

    // MARK: rollback

    @Test func aBridgeErrorLeavesNoLease() throws {
        let failure = SystemError("netlink: create bridge contain0", errno: ENODEV)
        host.fail(.ensureBridge, with: failure)
        #expect(throws: failure) { try self.manager.attach(network: "contain", self.request("aaaa1111")) }
        #expect(try leasedIDs("contain").isEmpty)
        #expect(host.calls(.installFirewall).isEmpty)
        // The next attempt starts clean.
        #expect(try manager.attach(network: "contain", request("aaaa1111")).address.description == "10.88.0.2")
    }

    @Test func anAddressErrorWithPortsTakesThePortsBackOut() throws {
        try existingNetwork()
        let failure = SystemError("netlink: add address 10.88.0.1/24", errno: EPERM)
        host.fail(.ensureAddress, with: failure)
        #expect(throws: failure) { try self.manager.attach(network: "contain", self.request("aaaa1111", ports: ["8080:80"])) }
        #expect(try leasedIDs("contain").isEmpty)
        #expect(host.calls(.removePorts) == [.removePorts("ports-aaaa1111")])
        #expect(host.calls(.installFirewall).isEmpty)
    }

    @Test func aPortsErrorRollsTheLeaseBackAndTakesThePortsOut() throws {
        _ = try manager.attach(network: "contain", request("aaaa1111", ports: ["53:53/udp"]))
        let file = leasesFile("contain")
        let failure = SystemError("nftables: add chain ports-bbbb2222", errno: ENOBUFS)
        host.fail(.addPorts, with: failure)
        #expect(throws: failure) { try self.manager.attach(network: "contain", self.request("bbbb2222", ports: ["8080:80"])) }
        #expect(leasesFile("contain") == file)
        #expect(host.calls(.removePorts) == [.removePorts("ports-bbbb2222")])
        #expect(host.calls(.installFirewall).count == 1)
        #expect(host.portChains == ["ports-aaaa1111"])
    }

    @Test func aliasesAreLeasedWithTheAddress() throws {
        _ = try manager.attach(network: "contain", request("aaaa1111", name: "web", aliases: ["www", "api"]))
        #expect(try store.leases(of: "contain").leases.first?.aliases == ["www", "api"])
    }

    // MARK: reclaim

    @Test func aDeadOwnersLeaseIsReclaimedAndItsPortsTakenOut() throws {
        let stale = Lease(address: IPv4Address("10.88.0.2")!, containerID: "dddd0000", owner: Self.dead,
                          hostInterface: "vethdddd0000", ports: [try PortMapping(parsing: "8080:80")])
        try existingNetwork(leases: [stale])
        let endpoint = try manager.attach(network: "contain", request("aaaa1111", address: "10.88.0.2"))
        #expect(endpoint.address.description == "10.88.0.2")
        #expect(try leasedIDs("contain") == ["aaaa1111"])
        #expect(host.calls(.installFirewall) == [.installFirewall(networks: ["contain"], published: [])])
        #expect(host.calls(.isFirewallInstalled).isEmpty)
    }

    @Test func aReclaimedLeasesPortsGoEvenWhenTheAttachFails() throws {
        let stale = Lease(address: IPv4Address("10.88.0.2")!, containerID: "dddd0000", owner: Self.dead,
                          hostInterface: "vethdddd0000", ports: [try PortMapping(parsing: "8080:80")])
        let live = Lease(address: IPv4Address("10.88.0.3")!, containerID: "eeee0000", owner: .current(),
                         hostInterface: "vetheeee0000", name: "web", ports: [try PortMapping(parsing: "9090:80")])
        try existingNetwork(leases: [stale, live])
        #expect(throws: NetworkError.self) {
            try self.manager.attach(network: "contain", self.request("aaaa1111", ports: ["9090:81"]))
        }
        #expect(try leasedIDs("contain") == ["eeee0000"])
        #expect(host.calls(.installFirewall) == [.installFirewall(networks: ["contain"], published: ["ports-eeee0000 9090:80/tcp->10.88.0.3"])])
    }

    /// After a reclaim the table is rebuilt whole, the new container's ports in it: no chain of
    /// its own is added besides.
    @Test func aReclaimInstallsTheWholeTableWithTheNewContainersPorts() throws {
        let stale = Lease(address: IPv4Address("10.88.0.2")!, containerID: "dddd0000", owner: Self.dead,
                          hostInterface: "vethdddd0000", ports: [try PortMapping(parsing: "8080:80")])
        let live = Lease(address: IPv4Address("10.88.0.3")!, containerID: "eeee0000", owner: .current(),
                         hostInterface: "vetheeee0000", ports: [try PortMapping(parsing: "9090:80")])
        try existingNetwork(leases: [stale, live])
        host.portChains = ["ports-dddd0000", "ports-eeee0000"]
        let endpoint = try manager.attach(network: "contain", request("aaaa1111", ports: ["8080:81"]))
        #expect(host.calls(.installFirewall) == [.installFirewall(networks: ["contain"], published: [
            "ports-aaaa1111 8080:81/tcp->10.88.0.2", "ports-eeee0000 9090:80/tcp->10.88.0.3",
        ])])
        #expect(host.calls(.addPorts).isEmpty && host.calls(.isFirewallInstalled).isEmpty)
        #expect(host.portChains == ["ports-aaaa1111", "ports-eeee0000"])
        // From then on, by itself again.
        #expect(manager.detach(endpoint).isEmpty)
        #expect(host.calls(.removePorts) == [.removePorts("ports-aaaa1111")])
        #expect(host.calls(.installFirewall).count == 1)
    }

    @Test func statusReclaimsToo() throws {
        let stale = Lease(address: IPv4Address("10.88.0.2")!, containerID: "dddd0000", owner: Self.dead,
                          hostInterface: "vethdddd0000", ports: [try PortMapping(parsing: "8080:80")])
        try existingNetwork(leases: [stale])
        let status = try manager.status()
        #expect(status.map(\.definition.name) == ["contain"])
        #expect(status.first?.leases.isEmpty == true)
        #expect(status.first?.bridge?.name == "contain0")
        #expect(host.calls(.installFirewall) == [.installFirewall(networks: ["contain"], published: [])])
    }

    // MARK: connect

    @Test func connectBornsThePeerInTheContainersNamespace() throws {
        let endpoint = try manager.attach(network: "contain", request("aaaa1111"))
        try manager.connect(endpoint, containerPID: 4242)
        try manager.connect(endpoint, namespaceFD: 7)
        #expect(host.calls(.createVeth) == [
            .createVeth(name: "vethaaaa1111", peer: "eth0", namespace: .process(4242), master: endpoint.bridgeIndex),
            .createVeth(name: "vethaaaa1111", peer: "eth0", namespace: .file(descriptor: 7), master: endpoint.bridgeIndex),
        ])
    }

    @Test func connectByPathPassesAnOpenDescriptorOfThatFile() throws {
        let endpoint = try manager.attach(network: "contain", request("aaaa1111"))
        let path = "/proc/self/ns/net"      // opening it needs no privilege; nothing is made
        try manager.connect(endpoint, namespacePath: path)
        var st = stat()
        #expect(stat(path, &st) == 0)
        #expect(host.namespaceFiles.count == 1)
        #expect(host.namespaceFiles.first.map { $0.0 == st.st_dev && $0.1 == st.st_ino } == true)
        guard case .createVeth(_, _, .file, _)? = host.calls(.createVeth).first else {
            Issue.record("expected a veth into a namespace file, got \(host.calls(.createVeth))")
            return
        }
    }

    @Test func connectByPathNamesThePathInItsErrors() throws {
        let endpoint = try manager.attach(network: "contain", request("aaaa1111"))
        let missing = directory + "/no-such-namespace"
        #expect(throws: SystemError("open", path: missing, errno: ENOENT)) {
            try self.manager.connect(endpoint, namespacePath: missing)
        }
        #expect(host.calls(.createVeth).isEmpty)
        // Not a network namespace: the kernel says EINVAL; the error says which file.
        host.fail(.createVeth, with: SystemError("netlink: create veth vethaaaa1111", errno: EINVAL))
        let notNamespace = directory + "/plain"
        try Files.write(notNamespace, "", create: true)
        #expect(throws: SystemError("netlink: create veth vethaaaa1111", path: notNamespace, errno: EINVAL)) {
            try self.manager.connect(endpoint, namespacePath: notNamespace)
        }
    }

    // MARK: detach

    @Test func detachGivesTheLeaseBackAndTakesThePortsOut() throws {
        let endpoint = try manager.attach(network: "contain", request("aaaa1111", ports: ["8080:80"]))
        _ = try manager.attach(network: "contain", request("bbbb2222"))
        #expect(manager.detach(endpoint).isEmpty)
        #expect(try leasedIDs("contain") == ["bbbb2222"])
        #expect(host.calls(.removePorts) == [.removePorts("ports-aaaa1111")])
        #expect(host.calls(.installFirewall).count == 1)
        #expect(host.portChains.isEmpty)
    }

    @Test func detachWithoutPortsLeavesTheRulesAlone() throws {
        let endpoint = try manager.attach(network: "contain", request("aaaa1111"))
        let before = host.calls.count
        #expect(manager.detach(endpoint).isEmpty)
        #expect(host.calls.count == before)
        #expect(try leasedIDs("contain").isEmpty)
    }

    @Test func detachReportsALeasesWriteFailureAndStillDoesTheRest() throws {
        let web = try manager.attach(network: "contain", request("aaaa1111", name: "web", ports: ["8080:80"]))
        _ = try manager.attach(network: "contain", request("bbbb2222", name: "db"))
        let file = leasesFile("contain")

        faults.leasesErrno = ENOSPC
        let failures = manager.detach(web)
        #expect(failures.count == 1)
        #expect((failures.first as? SystemError)?.errno == ENOSPC)
        #expect(leasesFile("contain") == file)       // the lease stays on file, to be reclaimed
        // The rest was done all the same: its port is closed.
        #expect(host.calls(.removePorts) == [.removePorts("ports-aaaa1111")])
        #expect(host.portChains.isEmpty)
    }

    @Test func detachReportsEveryFailure() throws {
        let endpoint = try manager.attach(network: "contain", request("aaaa1111", ports: ["8080:80"]))
        faults.leasesErrno = ENOSPC
        let rules = SystemError("nftables: delete chain ports-aaaa1111", errno: EPERM)
        host.fail(.removePorts, with: rules)
        let failures = manager.detach(endpoint)
        #expect(failures.count == 2)
        #expect((failures.first as? SystemError)?.errno == ENOSPC)
        #expect(failures.last as? SystemError == rules)
    }

    @Test func aFirewallFailureOnDetachStillGivesTheLeaseBack() throws {
        let endpoint = try manager.attach(network: "contain", request("aaaa1111", ports: ["8080:80"]))
        let rules = SystemError("nftables: delete chain ports-aaaa1111", errno: EPERM)
        host.fail(.removePorts, with: rules)
        let failures = manager.detach(endpoint)
        #expect(failures.map { $0 as? SystemError } == [rules])
        #expect(try leasedIDs("contain").isEmpty)
    }

    /// Reclaimed leases' ports still in (their rebuild failed): the container's end rebuilds the
    /// table whole, without them and without its own.
    @Test func detachAfterAFailedRebuildWritesTheWholeTable() throws {
        let web = try manager.attach(network: "contain", request("aaaa1111", ports: ["8080:80"]))
        let stale = Lease(address: IPv4Address("10.88.0.9")!, containerID: "dddd0000", owner: Self.dead,
                          hostInterface: "vethdddd0000", ports: [try PortMapping(parsing: "9090:80")])
        try store.saveLeases(LeaseTable(leases: try store.leases(of: "contain").leases + [stale]), of: "contain")
        let failure = SystemError("nftables: install rules", errno: ENOBUFS)
        host.fail(.installFirewall, call: 2, with: failure)
        #expect(throws: failure) { try self.manager.status() }
        #expect(manager.detach(web).isEmpty)
        #expect(host.calls(.removePorts).isEmpty)
        #expect(host.calls(.installFirewall).last == .installFirewall(networks: ["contain"], published: []))
        #expect(host.portChains.isEmpty)
    }

    // MARK: networks

    @Test func createAvoidsHostRoutesAndRemoveTakesTheBridgeAndRules() throws {
        host.routed = [try IPv4Network(parsing: "10.88.0.0/16")]
        #expect(throws: NetworkError.conflict("subnet 10.88.4.0/24 overlaps 10.88.0.0/16, already routed on this host")) {
            try self.manager.create(name: "lab", subnet: try IPv4Network(parsing: "10.88.4.0/24"), gateway: nil,
                                    bridge: nil, mtu: nil, internal: false)
        }
        host.addLink("taken0")
        #expect(throws: NetworkError.conflict("bridge `taken0`: an interface of that name already exists on the host")) {
            try self.manager.create(name: "lab", subnet: nil, gateway: nil, bridge: "taken0", mtu: nil, internal: false)
        }
        let lab = try manager.create(name: "lab", subnet: try IPv4Network(parsing: "10.90.0.0/24"), gateway: nil,
                                     bridge: nil, mtu: nil, internal: true)
        #expect(lab.bridge == "ct-lab")
        let endpoint = try manager.attach(network: "lab", request("aaaa1111", name: "web"))
        #expect(throws: NetworkError.conflict("network `lab` is in use by 1 container(s): web")) {
            try self.manager.remove(name: "lab")
        }
        #expect(manager.detach(endpoint).isEmpty)
        try manager.remove(name: "lab")
        #expect(host.interfaces["ct-lab"] == nil)
        #expect(Array(host.calls.suffix(4)) == [
            .link("ct-lab"), .deleteLink("ct-lab"), .links, .installFirewall(networks: [], published: []),
        ])
        #expect(try store.definition(named: "lab") == nil)
    }

    @Test func dualStackNetworksLeaseBothFamiliesAndAvoidOverlaps() throws {
        host.routed6 = [try IPv6Network(parsing: "2001:db8::/48")]
        #expect(throws: NetworkError.conflict("subnet 2001:db8:0:1::/64 overlaps 2001:db8::/48, already routed on this host")) {
            try self.manager.create(name: "v6", subnet: nil, gateway: nil, ipv6: .subnet(try IPv6Network(parsing: "2001:db8:0:1::/64"), gateway: nil),
                                    bridge: nil, mtu: nil, internal: false)
        }
        let dual = try manager.create(name: "dual", subnet: nil, gateway: nil, ipv6: .subnet(try IPv6Network(parsing: "fd00:88::/64"), gateway: nil),
                                      bridge: nil, mtu: nil, internal: false)
        #expect(dual.subnet6?.description == "fd00:88::/64" && dual.gateway6?.description == "fd00:88::1")
        #expect(throws: NetworkError.conflict("subnet fd00:88::/64 overlaps network `dual` (fd00:88::/64)")) {
            try self.manager.create(name: "again", subnet: nil, gateway: nil, ipv6: .subnet(try IPv6Network(parsing: "fd00:88::/64"), gateway: nil),
                                    bridge: nil, mtu: nil, internal: false)
        }
        let picked = try manager.create(name: "auto", subnet: nil, gateway: nil, ipv6: .automatic, bridge: nil, mtu: nil, internal: false)
        #expect(picked.subnet6?.prefix == 64 && picked.subnet6?.network.bytes.first == 0xfd)
        var wanted = request("aaaa1111", name: "web", ports: ["8080:80"])
        wanted.address6 = IPv6Address("fd00:88::7")
        let endpoint = try manager.attach(network: "dual", wanted)
        #expect(endpoint.address.description == "10.88.0.2" && endpoint.address6?.description == "fd00:88::7")
        #expect(host.calls.contains(.ensureAddress(index: 11, address: "fd00:88::1/64")))
        #expect(try manager.endpoints(of: "aaaa1111").first?.address6?.description == "fd00:88::7")
        // An IPv4-only network refuses --ip6.
        var wrong = request("bbbb2222")
        wrong.address6 = IPv6Address("fd00:88::8")
        #expect(throws: NetworkError.invalid("--ip6 fd00:88::8: the network has no IPv6 subnet")) {
            try self.manager.attach(network: "contain", wrong)
        }
    }
}

@Suite struct NetworkStoreTests {
    /// Above PID_MAX_LIMIT (2^22): never a process.
    static let deadPID: Int32 = 4_194_304 + 7

    @Test func temporariesOfDeadWritersAreSweptWhenTheLockIsTaken() throws {
        var template = Array("/tmp/contain-store-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError.last("mkdtemp") }
        let directory = String(cString: made)
        defer { try? Files.removeTree(directory) }
        let names = ["contain.leases", "contain.network", "contain.leases.tmp.\(Self.deadPID)",
                     "lab.network.tmp.\(Self.deadPID)", "contain.network.tmp.\(getpid())", "notes.tmp.x", "x.tmp.12ab"]
        for name in names { try Files.write(directory + "/" + name, "", create: true) }

        let store = NetworkStore(directory: directory)
        #expect(try store.withLock { 42 } == 42)
        #expect(try Files.list(directory).sorted() == [
            ".lock", "contain.leases", "contain.network", "contain.network.tmp.\(getpid())", "notes.tmp.x", "x.tmp.12ab",
        ])
        #expect(store.sweepTemporaries().isEmpty)
    }

    @Test func onlyPidSuffixedTemporariesAreCandidates() {
        #expect(NetworkStore.writerPID(temporary: "contain.leases.tmp.4242") == 4242)
        #expect(NetworkStore.writerPID(temporary: "contain.leases") == nil)
        #expect(NetworkStore.writerPID(temporary: "contain.leases.tmp.") == nil)
        #expect(NetworkStore.writerPID(temporary: "contain.leases.tmp.+42") == nil)
        #expect(NetworkStore.writerPID(temporary: "contain.leases.tmp.0") == nil)
        #expect(NetworkStore.writerPID(temporary: "tmp.42") == nil)
        #expect(NetworkStore.isRunning(getpid()))
        #expect(!NetworkStore.isRunning(Self.deadPID))
    }
}
