import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// What a container asks of a network when it joins.
public struct EndpointRequest: Sendable {
    public var containerID: String
    public var name: String?
    public var hostname: String
    public var address: IPv4Address?
    /// `--ip6`: a fixed IPv6 address (the network must have an IPv6 subnet).
    public var address6: IPv6Address?
    /// `--mac-address`: its interface's MAC address (nil: from its IPv4 address).
    public var mac: [UInt8]?
    public var owner: ProcessIdentity
    public var ports: [PortMapping]
    /// `--network-alias`: more names for it on this network.
    public var aliases: [String]
    /// Which of the container's networks this is (Endpoint.index).
    public var index = 0

    public init(containerID: String, name: String?, hostname: String, address: IPv4Address?,
                owner: ProcessIdentity, ports: [PortMapping] = [], aliases: [String] = []) {
        self.containerID = containerID
        self.name = name
        self.hostname = hostname
        self.address = address
        self.owner = owner
        self.ports = ports
        self.aliases = aliases
    }
}

/// A container's place on a network: its lease, and the host end of its veth.
public struct Endpoint: Sendable {
    public var network: NetworkDefinition
    public var containerID: String
    public var address: IPv4Address
    /// On a dual-stack network.
    public var address6: IPv6Address? = nil
    /// `--mac-address`; nil: `containerMAC(for: address)`.
    public var mac: [UInt8]? = nil
    public var hostInterface: String
    public var bridgeIndex: Int32
    public var ports: [PortMapping]
    /// Found when the network was first used: what the caller should say (a host firewall
    /// that drops forwarded traffic).
    public var warnings: [String] = []
    /// Which of the container's networks this is (0: the first, `eth0`, which carries the
    /// default route; 1: `eth1` ...).
    public var index = 0
    /// The interface inside the container.
    public static let containerInterface = "eth0"
    public var containerInterface: String { "eth\(index)" }
    /// The host end of a container's veth: `veth` and the first 8 characters of its id, and
    /// `-N` for its network N after the first.
    public static func hostInterfaceName(containerID: String, index: Int = 0) -> String {
        "veth" + String(containerID.prefix(8)) + (index == 0 ? "" : "-\(index)")
    }
    /// Which of its networks a container's veth `hostInterface` is on: hostInterfaceName's N.
    public static func index(hostInterface: String, containerID: String) -> Int {
        let base = hostInterfaceName(containerID: containerID)
        return hostInterface == base ? 0 : Int(hostInterface.dropFirst(base.count + 1)) ?? 0
    }
    /// The container's `eth0` address, docker's scheme: `02:42` (locally administered, unicast)
    /// and its IPv4 address, so it is known without looking inside the container and unique
    /// on the network as its address is.
    public static func containerMAC(for address: IPv4Address) -> [UInt8] { [0x02, 0x42] + address.bytes }
    public var containerMAC: [UInt8] { mac ?? Self.containerMAC(for: address) }
}

/// A network with its live endpoints, for `net ls` and `net inspect`.
public struct NetworkStatus: Sendable {
    public var definition: NetworkDefinition
    public var leases: [Lease]
    /// The bridge as the kernel has it (nil: not created yet, or removed).
    public var bridge: LinkInfo?
    /// Host veths by name, with their counters.
    public var hostInterfaces: [String: LinkInfo]
}

/// Networks, leases, bridges and firewall rules, in the network namespace of the caller (the
/// host, from contain's point of view). Every read-modify-write happens under the store lock;
/// nothing here waits on a container. Links and rules are changed through `host` only.
public final class NetworkManager {
    public let store: NetworkStore
    public let host: NetworkHost
    /// Set when a reclaimed lease had published ports: the table must be rebuilt without them
    /// (the one time it is written whole for ports; each container's own are added and taken
    /// out by themselves otherwise).
    private var portsStale = false

    public init(store: NetworkStore, host: NetworkHost = KernelNetworkHost()) {
        self.store = store
        self.host = host
    }

    // MARK: networks

    /// What `net create` asks for IPv6: nothing, a subnet (and perhaps its gateway), or a
    /// unique-local /64 picked from fd00::/8 (`--ipv6`, as podman does).
    public enum IPv6Choice: Equatable, Sendable {
        case none
        case subnet(IPv6Network, gateway: IPv6Address?)
        case automatic
    }

    public func create(name: String, subnet: IPv4Network?, gateway: IPv4Address?, ipv6: IPv6Choice = .none, bridge: String?,
                       mtu: UInt32?, internal: Bool) throws -> NetworkDefinition {
        try NetworkDefinition.validateName(name)
        return try store.withLock {
            guard try store.definition(named: name) == nil else { throw NetworkError.conflict("network `\(name)` already exists") }
            return try createLocked(name: name, subnet: subnet, gateway: gateway, ipv6: ipv6, bridge: bridge, mtu: mtu, internal: `internal`)
        }
    }

    private func createLocked(name: String, subnet: IPv4Network?, gateway: IPv4Address?, ipv6: IPv6Choice = .none, bridge: String?,
                              mtu: UInt32?, internal: Bool) throws -> NetworkDefinition {
        let others = try store.definitions()
        let bridgeName = bridge ?? NetworkDefinition.automaticBridgeName(for: name)
        try NetworkDefinition.validateInterfaceName(bridgeName, what: "bridge name")
        if let other = others.first(where: { $0.bridge == bridgeName }) {
            throw NetworkError.conflict("bridge `\(bridgeName)` is already used by network `\(other.name)`")
        }
        if try host.link(named: bridgeName) != nil {
            throw NetworkError.conflict("bridge `\(bridgeName)`: an interface of that name already exists on the host")
        }
        // Addresses and routes already on the host, and the other networks' subnets.
        let hostNetworks = try host.hostNetworks()
        let chosen: IPv4Network
        if let subnet {
            if let other = others.first(where: { $0.subnet.overlaps(subnet) }) {
                throw NetworkError.conflict("subnet \(subnet) overlaps network `\(other.name)` (\(other.subnet))")
            }
            if let clash = hostNetworks.first(where: { $0.overlaps(subnet) }) {
                throw NetworkError.conflict("subnet \(subnet) overlaps \(clash), already routed on this host")
            }
            chosen = subnet
        } else {
            guard let picked = NetworkDefinition.pickSubnet(avoiding: others.map(\.subnet) + hostNetworks) else {
                throw NetworkError.exhausted("no free subnet left in \(NetworkDefinition.automaticPool); pass --subnet")
            }
            chosen = picked
        }
        var subnet6: IPv6Network?, gateway6: IPv6Address?
        switch ipv6 {
        case .none: break
        case .subnet(let wanted, let gateway):
            if let other = others.first(where: { $0.subnet6?.overlaps(wanted) == true }) {
                throw NetworkError.conflict("subnet \(wanted) overlaps network `\(other.name)` (\(other.subnet6!))")
            }
            if let clash = try host.hostNetworks6().first(where: { $0.overlaps(wanted) }) {
                throw NetworkError.conflict("subnet \(wanted) overlaps \(clash), already routed on this host")
            }
            subnet6 = wanted
            gateway6 = gateway
        case .automatic:
            guard let picked = IPv6Network.pickUniqueLocal(avoiding: others.compactMap(\.subnet6) + (try host.hostNetworks6())) else {
                throw NetworkError.exhausted("no free unique-local /64 found in fd00::/8; pass --subnet with an IPv6 subnet")
            }
            subnet6 = picked
        }
        let definition = try NetworkDefinition(name: name, bridge: bridgeName, subnet: chosen, gateway: gateway,
                                               mtu: mtu, internal: `internal`, subnet6: subnet6, gateway6: gateway6)
        try store.save(definition)
        return definition
    }

    /// Removes a network: refused while live containers use it; otherwise its bridge and its
    /// rules go with it.
    public func remove(name: String) throws {
        try store.withLock {
            guard let definition = try store.definition(named: name) else { throw NetworkError.notFound("network `\(name)` not found") }
            var leases = try store.leases(of: name)
            leases.reclaim(isAlive: \.isAlive)
            if !leases.leases.isEmpty {
                let names = leases.leases.map { $0.name ?? String($0.containerID.prefix(12)) }
                throw NetworkError.conflict("network `\(name)` is in use by \(names.count) container(s): \(names.joined(separator: ", "))")
            }
            if let bridge = try host.link(named: definition.bridge) {
                try host.deleteLink(index: bridge.index, name: definition.bridge)
            }
            try store.remove(named: name)
            try installFirewall()
        }
    }

    public func status() throws -> [NetworkStatus] {
        try store.withLock {
            let links = Dictionary(try host.links().map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            let result = try store.definitions().map { definition in
                let leases = try reclaimLocked(definition)
                var interfaces: [String: LinkInfo] = [:]
                for lease in leases.leases { interfaces[lease.hostInterface] = links[lease.hostInterface] }
                return NetworkStatus(definition: definition, leases: leases.leases, bridge: links[definition.bridge],
                                     hostInterfaces: interfaces)
            }
            if portsStale { try installFirewall() }
            return result
        }
    }

    // MARK: endpoints

    /// Everything a container needs from the host before its veth can be made: the network
    /// (the default one is created on first use), its bridge up with the gateway address, its
    /// rules, and a lease. Undo with `detach`. On failure what was done for the container (its
    /// lease, its port rules) is undone before the error is thrown.
    public func attach(network name: String, _ request: EndpointRequest) throws -> Endpoint {
        try store.withLock {
            do {
                do {
                    return try attachLocked(network: name, request, reclaiming: false)
                } catch is LeaseInTheWay {
                    // A lease stood in the way: its owner may be dead. Again, without the dead.
                    return try attachLocked(network: name, request, reclaiming: true)
                }
            } catch {
                // The ports of a lease reclaimed on the way must not outlive it, whatever failed.
                if portsStale { try? installFirewall() }
                throw error
            }
        }
    }

    /// A conflict or a full subnet found while the leases were taken as they are, before
    /// anything was changed: worth a second look without the leases of dead owners.
    private struct LeaseInTheWay: Error {}

    /// `reclaiming`: the leases of dead owners are dropped first (each owner's liveness asked).
    /// Without it the leases are taken as they are, which keeps a start's cost flat as a
    /// network fills up; a conflict or a full subnet then throws LeaseInTheWay for the caller
    /// to try again reclaiming. Dead owners' leases go when their containers are reclaimed,
    /// by `net ls`, and by the name server's periodic check (for its answers).
    private func attachLocked(network name: String, _ request: EndpointRequest, reclaiming: Bool) throws -> Endpoint {
        func check<T>(_ body: () throws -> T) throws -> T {
            do { return try body() } catch let error as NetworkError {
                switch error {
                case .conflict, .exhausted: if !reclaiming { throw LeaseInTheWay() }
                case .invalid, .notFound: break
                }
                throw error
            }
        }
        let definition: NetworkDefinition
        if let existing = try store.definition(named: name) {
            definition = existing
        } else if name == NetworkDefinition.defaultName {
            definition = try createLocked(name: name, subnet: nil, gateway: nil, bridge: NetworkDefinition.defaultBridge,
                                          mtu: nil, internal: false)
        } else {
            throw NetworkError.notFound("network `\(name)` not found (create it with: contain net create \(name))")
        }
        if definition.subnet6 == nil, let port = request.ports.first(where: { $0.hostAddress6 != nil }) {
            throw NetworkError.invalid("-p \(port): network `\(name)` has no IPv6 subnet, so the container has no IPv6 address to publish it on")
        }
        if definition.internal, let port = request.ports.first {
            throw NetworkError.conflict("-p \(port): network `\(name)` is internal, so nothing outside it can reach a published port")
        }
        // One pass over every network's leases: names and ports are unique across them.
        var leases = LeaseTable()
        for other in try store.definitions() {
            let live = reclaiming ? try reclaimLocked(other) : try store.leases(of: other.name)
            if other.name == name { leases = live }
            // (The same container on another of its networks has its name there too.)
            for lease in live.leases where lease.containerID != request.containerID { try check {
                if let wanted = request.name, other.name != name, lease.name == wanted {
                    throw NetworkError.conflict("the name `\(wanted)` is already in use by a container on network `\(other.name)`")
                }
                for port in request.ports {
                    if let taken = lease.ports.first(where: { $0.clashes(with: port) }) {
                        throw NetworkError.conflict("port \(port.hostPort)/\(port.transport.rawValue) is already published (\(taken)) by container \(lease.name ?? String(lease.containerID.prefix(12)))")
                    }
                }
            } }
        }
        for (i, port) in request.ports.enumerated() where request.ports[..<i].contains(where: { $0.clashes(with: port) }) {
            throw NetworkError.conflict("port \(port.hostPort)/\(port.transport.rawValue) is published twice")
        }
        let hostInterface = Endpoint.hostInterfaceName(containerID: request.containerID, index: request.index)
        let lease = Lease(address: IPv4Address(0), containerID: request.containerID, owner: request.owner,
                          hostInterface: hostInterface, name: request.name, hostname: request.hostname,
                          ports: request.ports, aliases: request.aliases, mac: request.mac)
        let address = try check {
            try leases.allocate(lease, subnet: definition.subnet, gateway: definition.gateway, requested: request.address,
                                subnet6: definition.subnet6.flatMap { s in definition.gateway6.map { (s, $0) } },
                                requested6: request.address6)
        }
        let leased = leases.leases.first { $0.containerID == request.containerID }
        let address6 = leased?.address6

        // The lease is recorded before anything is made for it: from here on a crash leaves a
        // lease that is reclaimed (ports included) once its owner is gone.
        try store.saveLeases(leases, of: name)
        do {
            // Its address fixed, from the gateway's as containers' are from theirs.
            let bridge = try host.ensureBridge(name: definition.bridge, mtu: definition.mtu,
                                               mac: Endpoint.containerMAC(for: definition.gateway))
            try host.ensureAddress(index: bridge.index, address: definition.gateway, prefix: definition.subnet.prefix)
            if let subnet6 = definition.subnet6, let gateway6 = definition.gateway6 {
                try host.ensureAddress6(index: bridge.index, address: gateway6, prefix: subnet6.prefix)
            }
            // A bridge that is not up was made just now (or after a reboot): the network's first use.
            let firstUse = !bridge.isUp
            if !bridge.isUp { try host.setUp(index: bridge.index) }
            var warnings: [String] = []
            if try portsStale || !host.isFirewallInstalled(network: definition.name) {
                try installFirewall()   // the container's ports with the rest
            } else if let leased, !leased.ports.isEmpty {
                try addPorts(FirewallPlan.ContainerPorts(leased))
            }
            if firstUse && !definition.internal {
                // contain cannot override another table's drop: say so, once, when it matters.
                warnings = ((try? host.forwardDropChains()) ?? []).map { Firewall.forwardDropWarning($0, bridge: definition.bridge) }
            }
            var endpoint = Endpoint(network: definition, containerID: request.containerID, address: address,
                                    hostInterface: hostInterface, bridgeIndex: bridge.index, ports: request.ports)
            endpoint.address6 = address6
            endpoint.mac = request.mac
            endpoint.warnings = warnings
            endpoint.index = request.index
            return endpoint
        } catch {
            // Best effort: the error that matters is the one thrown. Should the lease stay
            // behind, it is reclaimed once this process is gone.
            leases.release(containerID: request.containerID)
            try? store.saveLeases(leases, of: name)
            if !request.ports.isEmpty { try? removePorts(containerID: request.containerID, index: request.index) }
            throw error
        }
    }

    /// Creates the container's veth (its peer born as eth0 inside the namespace of
    /// `containerPID`), on the bridge, its host end up: one request. The container's end is
    /// configured from inside; the pair disappears with the namespace.
    public func connect(_ endpoint: Endpoint, containerPID: Int32) throws {
        try connect(endpoint, into: .process(containerPID))
    }

    /// The same, the peer born in the network namespace that the open file `namespaceFD`
    /// refers to (`/proc/PID/ns/net`, a bind mount under `/run/netns`). The caller keeps the
    /// descriptor; it is only used for the request.
    public func connect(_ endpoint: Endpoint, namespaceFD: Int32) throws {
        try connect(endpoint, into: .file(descriptor: namespaceFD))
    }

    /// The same, the namespace given by the path of its file (opened for the request only).
    /// A file that is not a network namespace fails with EINVAL, naming `namespacePath`.
    public func connect(_ endpoint: Endpoint, namespacePath path: String) throws {
        let fd = try sys("open", path: path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        do {
            try connect(endpoint, namespaceFD: fd)
        } catch let error as SystemError where error.path == nil {
            throw SystemError(error.operation, path: path, errno: error.errno)
        }
    }

    private func connect(_ endpoint: Endpoint, into namespace: PeerNamespace) throws {
        try host.createVeth(name: endpoint.hostInterface, peerName: endpoint.containerInterface, peerNamespace: namespace,
                            peerMAC: endpoint.containerMAC, master: endpoint.bridgeIndex, mtu: endpoint.network.mtu)
    }

    /// The container's endpoints as its leases record them, in the order of their interfaces
    /// (`net connect` and `net disconnect` on a running container).
    public func endpoints(of containerID: String) throws -> [Endpoint] {
        var found: [Endpoint] = []
        for definition in try store.definitions() {
            guard let lease = try store.lease(of: containerID, on: definition.name) else { continue }
            var endpoint = Endpoint(network: definition, containerID: containerID, address: lease.address, hostInterface: lease.hostInterface,
                                    bridgeIndex: (try host.link(named: definition.bridge))?.index ?? 0, ports: lease.ports)
            endpoint.address6 = lease.address6
            endpoint.mac = lease.mac
            endpoint.index = Endpoint.index(hostInterface: lease.hostInterface, containerID: containerID)
            found.append(endpoint)
        }
        return found.sorted { $0.index < $1.index }
    }

    /// The host end of the endpoint's veth (and so the pair); gone already is fine.
    public func removeLink(of endpoint: Endpoint) throws {
        guard let link = try host.link(named: endpoint.hostInterface) else { return }
        try host.deleteLink(index: link.index, name: link.name)
    }

    /// Gives the lease back (the name server stops answering its names at once) and takes the
    /// container's port rules out. Runs on the way out, so it never stops at a failure: it goes
    /// on with the next step and returns every failure (none: all done) for the caller to
    /// report. A lease left behind is reclaimed once its owner is gone.
    @discardableResult
    public func detach(_ endpoint: Endpoint) -> [Error] {
        var failures: [Error] = []
        do {
            try store.withLock {
                let network = endpoint.network.name
                do { _ = try store.releaseLease(containerID: endpoint.containerID, of: network) } catch { failures.append(error) }
                // Without the container's ports even if its lease could not be given back.
                if !endpoint.ports.isEmpty || portsStale {
                    do { try removePorts(containerID: endpoint.containerID, index: endpoint.index) } catch { failures.append(error) }
                }
            }
        } catch {
            failures.append(error)
        }
        return failures
    }

    // MARK: helpers (store lock held)

    /// The network's leases without those whose owner died (saved back).
    private func reclaimLocked(_ definition: NetworkDefinition) throws -> LeaseTable {
        var leases = try store.leases(of: definition.name)
        let reclaimed = leases.reclaim(isAlive: \.isAlive)
        if reclaimed.contains(where: { !$0.ports.isEmpty }) { portsStale = true }
        if !reclaimed.isEmpty { try store.saveLeases(leases, of: definition.name) }
        return leases
    }

    /// Replaces contain's table with the rules of every network whose bridge exists and the
    /// ports of every live lease but those of the chain `excluding` (a container's endpoint on
    /// its way out whose lease may still be on file).
    private func installFirewall(excluding: String? = nil) throws {
        let names = Set(try host.links().map(\.name))
        let networks = try store.definitions().filter { names.contains($0.bridge) }
        var published: [FirewallPlan.ContainerPorts] = []
        for network in networks {
            for lease in try store.leases(of: network.name).leases where !lease.ports.isEmpty && lease.owner.isAlive {
                let ports = FirewallPlan.ContainerPorts(lease)
                if ports.chain != excluding { published.append(ports) }
            }
        }
        try host.installFirewall(networks: networks, published: published)
        portsStale = false
    }

    /// Adds one container's ports in one batch. Should the kernel's table not be as the leases
    /// say (that chain there already, left by an end whose rules could not be taken out; or no
    /// table at all), it is rebuilt whole from the leases instead, the container's included.
    private func addPorts(_ ports: FirewallPlan.ContainerPorts) throws {
        do {
            try host.addPorts(ports)
        } catch let error as SystemError where error.errno == EEXIST || error.errno == ENOENT {
            try installFirewall()
        }
    }

    /// Takes the ports of a container's endpoint out: its chain alone, or the whole table
    /// rebuilt without them when reclaimed leases' ports must go too.
    private func removePorts(containerID: String, index: Int) throws {
        let chain = FirewallPlan.ContainerPorts.chainName(containerID: containerID, index: index)
        if portsStale { try installFirewall(excluding: chain) } else { try host.removePorts(chain: chain) }
    }
}

extension FirewallPlan.ContainerPorts {
    /// The ports `lease` publishes, to its addresses, on the network of its veth.
    init(_ lease: Lease) {
        self.init(containerID: lease.containerID, index: Endpoint.index(hostInterface: lease.hostInterface, containerID: lease.containerID),
                  mappings: lease.ports, destination: lease.address, destination6: lease.address6)
    }
}
