import ArgumentParser
import ContainNetwork
import ContainRuntime
#if canImport(Glibc)
import Glibc
#endif

struct NetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "net",
        abstract: "Manage bridge networks.",
        subcommands: [NetCreate.self, NetList.self, NetInspect.self, NetRemove.self, NetConnect.self, NetDisconnect.self, NetTop.self, NetImpair.self, NetCapture.self]
    )
}

/// `contain net connect NET CONTAINER [--ip ADDR] [--alias NAME]...`: another interface (`eth1` ...) on a running
/// container, live.
struct NetConnect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connect", abstract: "Connect a running container to another network (a new interface, live).")

    @OptionGroup var state: StateOptions
    @Option(help: ArgumentHelp("A fixed address on that network.", valueName: "addr")) var ip: String?
    @Option(help: ArgumentHelp("Another name for it on that network (repeatable).", valueName: "name")) var alias: [String] = []
    @Argument(help: "The network.") var network: String
    @Argument(help: "The container's name or id.") var container: String

    func run() throws {
        try state.prepare()
        let address = try ip.map { text throws(NetworkError) in
            guard let a = IPv4Address(text) else { throw NetworkError.invalid("invalid --ip `\(text)`: expected an IPv4 address") }
            return a
        }
        let aliases = try alias.map { text throws(SpecError) in try ContainerSpec.validateAlias(text, flag: "--alias") }
        let view = try ContainerRecord.find(stateRoot: state.stateRoot, container)
        let endpoint = try LiveNetworks.connect(view, network: network, address: address, aliases: aliases,
                                                manager: NetworkManager(store: NetworkStore(directory: state.networkDirectory)))
        print("\(endpoint.containerInterface) \(endpoint.address)/\(endpoint.network.subnet.prefix)")
    }
}

/// `contain net disconnect NET CONTAINER`: the interface of a network the container joined
/// with `net connect` (or a second `--net`) goes, live.
struct NetDisconnect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disconnect", abstract: "Disconnect a running container from a network it joined after its first.")

    @OptionGroup var state: StateOptions
    @Argument(help: "The network.") var network: String
    @Argument(help: "The container's name or id.") var container: String

    func run() throws {
        try state.prepare()
        let view = try ContainerRecord.find(stateRoot: state.stateRoot, container)
        try LiveNetworks.disconnect(view, network: network, manager: NetworkManager(store: NetworkStore(directory: state.networkDirectory)))
    }
}

struct NetCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Define a network (its bridge and rules appear on first use).")

    @OptionGroup var state: StateOptions
    @Argument(help: "The network's name.") var name: String
    @Option(help: ArgumentHelp("Subnet in CIDR form, IPv4 (default: a free /24 in 10.88.0.0/16) and/or IPv6 (dual stack); give one of each at most.", valueName: "cidr"))
    var subnet: [String] = []
    @Option(help: ArgumentHelp("Gateway address, the bridge's, per family (default: the subnet's first address).", valueName: "addr"))
    var gateway: [String] = []
    @Flag(help: "Dual stack: an IPv6 subnet too, a free unique-local /64 from fd00::/8 unless --subnet gives one.")
    var ipv6 = false
    @Option(help: ArgumentHelp("Bridge interface name (default: ct-NAME).", valueName: "ifname"))
    var bridge: String?
    @Option(help: ArgumentHelp("MTU of the bridge and the containers' interfaces.", valueName: "n"))
    var mtu: String?
    @Flag(help: "No NAT and no route out: containers reach each other and the gateway only.")
    var `internal` = false

    func run() throws {
        try state.prepare()
        // Each --subnet and --gateway is IPv4 or IPv6 by its form: one of each at most.
        let subnets4 = subnet.filter { !$0.contains(":") }, subnets6 = subnet.filter { $0.contains(":") }
        let gateways4 = gateway.filter { !$0.contains(":") }, gateways6 = gateway.filter { $0.contains(":") }
        guard subnets4.count <= 1, subnets6.count <= 1, gateways4.count <= 1, gateways6.count <= 1 else {
            throw NetworkError.invalid("give at most one IPv4 and one IPv6 --subnet (and --gateway)")
        }
        let parsedSubnet = try subnets4.first.map { text throws(NetworkError) in try IPv4Network(parsing: text) }
        var parsedGateway: IPv4Address?
        if let gateway = gateways4.first {
            guard let address = IPv4Address(gateway) else { throw NetworkError.invalid("invalid --gateway `\(gateway)`: expected an IPv4 or IPv6 address") }
            if let parsedSubnet, !parsedSubnet.isHost(address) {
                throw NetworkError.invalid("gateway \(address) is not a usable address in \(parsedSubnet)")
            }
            parsedGateway = address
        }
        var ipv6Choice = NetworkManager.IPv6Choice.none
        if let text = subnets6.first {
            let subnet6 = try IPv6Network(parsing: text)
            var gateway6: IPv6Address?
            if let g = gateways6.first {
                guard let address = IPv6Address(g) else { throw NetworkError.invalid("invalid --gateway `\(g)`: expected an IPv4 or IPv6 address") }
                guard subnet6.isHost(address) else { throw NetworkError.invalid("gateway \(address) is not a usable address in \(subnet6)") }
                gateway6 = address
            }
            ipv6Choice = .subnet(subnet6, gateway: gateway6)
        } else if !gateways6.isEmpty {
            throw NetworkError.invalid("an IPv6 --gateway needs an IPv6 --subnet")
        } else if ipv6 {
            ipv6Choice = .automatic
        }
        var parsedMTU: UInt32?
        if let mtu {
            guard let value = UInt32(mtu), (68...65535).contains(value) else { throw NetworkError.invalid("invalid --mtu `\(mtu)`: expected 68 to 65535") }
            parsedMTU = value
        }
        if let bridge { try NetworkDefinition.validateInterfaceName(bridge, what: "bridge name") }
        if parsedGateway != nil && parsedSubnet == nil { throw NetworkError.invalid("--gateway needs --subnet") }
        let manager = NetworkManager(store: NetworkStore(directory: state.networkDirectory))
        let definition = try manager.create(name: name, subnet: parsedSubnet, gateway: parsedGateway, ipv6: ipv6Choice, bridge: bridge,
                                            mtu: parsedMTU, internal: `internal`)
        print(definition.name)
    }
}

struct NetList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List networks.")

    @OptionGroup var state: StateOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try state.prepare()
        let networks = try NetworkManager(store: NetworkStore(directory: state.networkDirectory)).status()
        if json {
            print(JSON.array(networks.map { JSON.object(NetworkReport.summary($0)) }).text)
            return
        }
        var rows = [["NAME", "BRIDGE", "SUBNET", "GATEWAY", "CONTAINERS"]]
        for n in networks {
            let d = n.definition
            let subnets = [d.subnet.description] + (d.subnet6.map { [$0.description] } ?? [])
            let gateways = ([d.gateway.description] + (d.gateway6.map { [$0.description] } ?? [])).joined(separator: ",")
            rows.append([d.name, d.bridge, subnets.joined(separator: ","), d.internal ? "\(gateways) (internal)" : gateways,
                         String(n.leases.count)])
        }
        print(Table.render(rows), terminator: "")
    }
}

struct NetInspect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show a network and its endpoints, with their impairments.")

    @OptionGroup var state: StateOptions
    @Argument(help: "The network's name.") var name: String
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try state.prepare()
        let manager = NetworkManager(store: NetworkStore(directory: state.networkDirectory))
        guard let network = try manager.status().first(where: { $0.definition.name == name }) else {
            throw NetworkError.notFound("network `\(name)` not found")
        }
        let impairments = LinkImpairments.show(network: network, stateRoot: state.stateRoot, manager: manager)
        if json {
            print(JSON.object(NetworkReport.summary(network)
                              + [("endpoints", .array(NetworkReport.endpoints(network, impairments: impairments).map(JSON.object)))]).text)
            return
        }
        let d = network.definition
        print("name:      \(d.name)")
        print("bridge:    \(d.bridge) (\(network.bridge.map { $0.isUp ? "up" : "down" } ?? "not created yet"))")
        print("subnet:    \(d.subnet)" + (d.subnet6.map { ", \($0)" } ?? ""))
        print("gateway:   \(d.gateway)" + (d.gateway6.map { ", \($0)" } ?? ""))
        print("mtu:       \(d.mtu.map(String.init) ?? "default")")
        print("internal:  \(d.internal)")
        print("endpoints: \(network.leases.count)")
        guard !network.leases.isEmpty else { return }
        var rows = [["CONTAINER", "NAME", "ALIASES", "PID", "HOST VETH", "ADDRESS", "MAC", "PORTS", "RX BYTES", "RX PACKETS", "TX BYTES", "TX PACKETS",
                     "EGRESS IMPAIRMENT", "INGRESS IMPAIRMENT"]]
        for lease in network.leases {
            let link = network.hostInterfaces[lease.hostInterface]
            let stats = link?.stats
            let impairment = impairments[lease.containerID]
            rows.append([String(lease.containerID.prefix(12)), lease.name ?? "-", lease.aliases.isEmpty ? "-" : lease.aliases.joined(separator: ","),
                         String(lease.owner.pid), lease.hostInterface,
                         "\(lease.address)/\(d.subnet.prefix)" + (lease.address6.flatMap { a in d.subnet6.map { ",\(a)/\($0.prefix)" } } ?? ""),
                         MACAddress.text(lease.effectiveMAC),
                         lease.ports.isEmpty ? "-" : lease.ports.map(\.description).joined(separator: ","),
                         // The host end's counters, seen from the container: what it received
                         // is what the host end sent.
                         stats.map { String($0.txBytes) } ?? "-", stats.map { String($0.txPackets) } ?? "-",
                         stats.map { String($0.rxBytes) } ?? "-", stats.map { String($0.rxPackets) } ?? "-",
                         impairment?.egress?.description ?? "-", impairment?.ingress?.description ?? "-"])
        }
        print("")
        print(Table.render(rows), terminator: "")
    }
}

struct NetRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove networks no container uses.")

    @OptionGroup var state: StateOptions
    @Argument(help: "The networks' names.") var names: [String]

    func run() throws {
        try state.prepare()
        let manager = NetworkManager(store: NetworkStore(directory: state.networkDirectory))
        for name in names {
            try manager.remove(name: name)
            print(name)
        }
    }
}

/// What `net ls --json` and `net inspect --json` print.
enum NetworkReport {
    static func summary(_ n: NetworkStatus) -> [(String, JSON)] {
        let d = n.definition
        return [("name", .string(d.name)), ("bridge", .string(d.bridge)), ("subnet", .string(d.subnet.description)),
                ("gateway", .string(d.gateway.description)),
                ("subnet6", d.subnet6.map { .string($0.description) } ?? .null), ("gateway6", d.gateway6.map { .string($0.description) } ?? .null),
                ("mtu", d.mtu.map { .number(Int64($0)) } ?? .null),
                ("internal", .bool(d.internal)), ("bridge_up", .bool(n.bridge?.isUp ?? false)),
                ("containers", .number(Int64(n.leases.count)))]
    }

    /// `pid`: the container's PID 1 as the host sees it, which owns the lease. `impairment`:
    /// its link's, per direction (`impairments`, by container id), null for one it could not
    /// read (its container just ended).
    static func endpoints(_ n: NetworkStatus, impairments: [String: (egress: Impairment?, ingress: Impairment?)]) -> [[(String, JSON)]] {
        n.leases.map { lease in
            let link = n.hostInterfaces[lease.hostInterface]
            let s = link?.stats
            return [("container", .string(lease.containerID)), ("name", lease.name.map(JSON.string) ?? .null),
                    ("hostname", .string(lease.hostname)), ("aliases", .array(lease.aliases.map(JSON.string))),
                    ("pid", .number(Int64(lease.owner.pid))),
                    ("host_veth", .string(lease.hostInterface)), ("address", .string(lease.address.description)),
                    ("address6", lease.address6.map { .string($0.description) } ?? .null),
                    // The container's eth0 (docker's 02:42 + address), not the host end's.
                    ("mac", .string(MACAddress.text(lease.effectiveMAC))),
                    ("ports", .array(lease.ports.map { .string($0.description) })),
                    ("rx_bytes", .number(Int64(s?.txBytes ?? 0))), ("rx_packets", .number(Int64(s?.txPackets ?? 0))),
                    ("tx_bytes", .number(Int64(s?.rxBytes ?? 0))), ("tx_packets", .number(Int64(s?.rxPackets ?? 0))),
                    ("impairment", impairments[lease.containerID].map { .object([("egress", impairment($0.egress)),
                                                                                 ("ingress", impairment($0.ingress))]) } ?? .null)]
        }
    }

    /// One direction: `--impair`'s keys with tc's units (`{"delay":"40ms","loss":"1%"}`), read
    /// from the comma form, which holds no other comma or `=`; null when unimpaired.
    static func impairment(_ i: Impairment?) -> JSON {
        guard let i else { return .null }
        return .object(i.specification.split(separator: ",").map { item in
            let pair = item.split(separator: "=", maxSplits: 1)
            return (String(pair[0]), .string(String(pair[1])))
        })
    }
}
