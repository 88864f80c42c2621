import ContainNetwork

/// A lab as its file declares it, checked: every reference resolves, names are unique, subnets
/// do not overlap, addresses sit in their subnets. Pure values; nothing here touches the system.
///
/// Order is the file's: nodes start, links are made and `exec` commands run in the order the
/// file lists them.
public struct LabFile: Equatable, Sendable {
    /// The lab's name: `name:` in the file, else the file's name without its extension.
    public var name: String
    public var networks: [Network]
    public var nodes: [Node]
    public var links: [Link]

    public init(name: String, networks: [Network] = [], nodes: [Node] = [], links: [Link] = []) {
        self.name = name
        self.networks = networks
        self.nodes = nodes
        self.links = links
    }

    /// A bridged network, made for the lab as contain network `LAB-NAME`.
    public struct Network: Equatable, Sendable {
        public var name: String
        public var subnet: IPv4Network?
        public var `internal`: Bool
        public var mtu: Int?

        public init(name: String, subnet: IPv4Network? = nil, internal: Bool = false, mtu: Int? = nil) {
            self.name = name
            self.subnet = subnet
            self.`internal` = `internal`
            self.mtu = mtu
        }
    }

    /// A container, `LAB-NAME`, whose hostname is NAME.
    public struct Node: Equatable, Sendable {
        public var name: String
        /// A directory or a .tar/.tar.gz, as the file gives it (relative to the file's directory).
        public var rootfs: String
        /// The command; empty: `sleep` until stopped, so the node stays up for its links.
        public var command: [String]
        public var env: [(key: String, value: String)]
        public var volumes: [String]
        public var ports: [String]
        public var memory: String?
        public var cpus: String?
        public var pids: String?
        public var initProcess: Bool
        public var sysctls: [(key: String, value: String)]
        public var capAdd: [String]
        /// The bridged networks it joins, in order (eth0, eth1, ... before its links' interfaces).
        public var networks: [Attachment]
        public var routes: [Route]
        /// Shell command lines run in the node (`sh -c`) once every node is up, in order.
        public var exec: [String]

        public init(name: String, rootfs: String, command: [String] = [], env: [(key: String, value: String)] = [],
                    volumes: [String] = [], ports: [String] = [], memory: String? = nil, cpus: String? = nil,
                    pids: String? = nil, initProcess: Bool = false, sysctls: [(key: String, value: String)] = [],
                    capAdd: [String] = [], networks: [Attachment] = [], routes: [Route] = [], exec: [String] = []) {
            self.name = name
            self.rootfs = rootfs
            self.command = command
            self.env = env
            self.volumes = volumes
            self.ports = ports
            self.memory = memory
            self.cpus = cpus
            self.pids = pids
            self.initProcess = initProcess
            self.sysctls = sysctls
            self.capAdd = capAdd
            self.networks = networks
            self.routes = routes
            self.exec = exec
        }

        public static func == (a: Node, b: Node) -> Bool {
            a.name == b.name && a.rootfs == b.rootfs && a.command == b.command
                && a.env.map { "\($0.key)=\($0.value)" } == b.env.map { "\($0.key)=\($0.value)" }
                && a.volumes == b.volumes && a.ports == b.ports && a.memory == b.memory && a.cpus == b.cpus
                && a.pids == b.pids && a.initProcess == b.initProcess
                && a.sysctls.map { "\($0.key)=\($0.value)" } == b.sysctls.map { "\($0.key)=\($0.value)" }
                && a.capAdd == b.capAdd && a.networks == b.networks && a.routes == b.routes && a.exec == b.exec
        }
    }

    /// A node on a network: its interface there, a fixed address, and what its egress suffers.
    public struct Attachment: Equatable, Sendable {
        public var network: String
        public var address: IPv4Address?
        public var impairment: Impairment?

        public init(network: String, address: IPv4Address? = nil, impairment: Impairment? = nil) {
            self.network = network
            self.address = address
            self.impairment = impairment
        }
    }

    /// A static route in a node: `to` (a subnet, or nil for the default route) via a neighbour.
    public struct Route: Equatable, Sendable {
        public var destination: IPv4Network?
        public var gateway: IPv4Address

        public init(destination: IPv4Network?, gateway: IPv4Address) {
            self.destination = destination
            self.gateway = gateway
        }
    }

    /// A veth pair straight between two nodes: no bridge, no host in between.
    public struct Link: Equatable, Sendable {
        public var endpoints: [Endpoint]   // exactly two
        public var subnet: IPv4Network?
        public var mtu: Int?
        /// Applied to both ends' egress, so each direction suffers it once.
        public var impairment: Impairment?

        public init(endpoints: [Endpoint], subnet: IPv4Network? = nil, mtu: Int? = nil, impairment: Impairment? = nil) {
            self.endpoints = endpoints
            self.subnet = subnet
            self.mtu = mtu
            self.impairment = impairment
        }

        /// `node:interface`, with the end's address (prefix length: the link's subnet's).
        public struct Endpoint: Equatable, Sendable, CustomStringConvertible {
            public var node: String
            public var interface: String
            public var address: IPv4Address?

            public init(node: String, interface: String, address: IPv4Address? = nil) {
                self.node = node
                self.interface = interface
                self.address = address
            }

            public var description: String { "\(node):\(interface)" }
        }
    }

    public func node(named name: String) -> Node? { nodes.first { $0.name == name } }
    public func network(named name: String) -> Network? { networks.first { $0.name == name } }

    /// The contain names of what the lab makes: `LAB-NAME`.
    public func containerName(_ node: String) -> String { "\(name)-\(node)" }
    public func networkName(_ network: String) -> String { "\(name)-\(network)" }

    /// Whether any impairment needs netem (delay, loss...) rather than tbf alone.
    public var needsNetem: Bool {
        nodes.contains { $0.networks.contains { $0.impairment?.needsNetem == true } }
            || links.contains { $0.impairment?.needsNetem == true }
    }
}

/// What is wrong with a lab file: one line, with the place in the file when there is one.
public struct LabError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public var file: String?
    public var line: Int?
    public var column: Int?

    public init(_ message: String, file: String? = nil, line: Int? = nil, column: Int? = nil) {
        self.message = message
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String {
        var place = file ?? ""
        if let line { place += (place.isEmpty ? "" : ":") + "\(line)" + (column.map { ":\($0)" } ?? "") }
        return place.isEmpty ? message : "\(place): \(message)"
    }
}
