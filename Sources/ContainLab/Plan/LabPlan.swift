import ContainNetwork

/// What `lab up` does, in order, as a pure function of the lab: networks, then nodes (ordinary
/// `contain run -d` containers), then the links between them, then impairments, routes, and the
/// `exec` commands. `lab down` undoes the networks and nodes; links and what is set on them go
/// with the nodes' namespaces.
public struct LabPlan: Equatable, Sendable {
    public var lab: LabFile
    public var steps: [Step]

    public enum Step: Equatable, Sendable {
        /// `contain net create NAME ...` (the lab's network, as contain network `LAB-NET`).
        case network(name: String, arguments: [String])
        /// `contain run -d ...`: a node, as container `LAB-NODE`.
        case node(name: String, container: String, arguments: [String])
        /// A veth pair straight between two nodes' namespaces, addressed and up.
        case link(Link)
        /// What an interface of a node sends suffers `impairment` (netem or tbf on its egress).
        case impair(container: String, interface: String, impairment: Impairment)
        /// A static route inside a node.
        case route(container: String, destination: IPv4Network?, gateway: IPv4Address)
        /// `sh -c COMMAND` in a node, once everything is up; a failure fails `up`.
        case exec(node: String, container: String, command: String)
    }

    public struct Link: Equatable, Sendable {
        public struct End: Equatable, Sendable {
            public var node: String
            public var container: String
            public var interface: String
            public var address: IPv4Address?
            public var prefix: Int?
        }
        public var ends: [End]
        public var mtu: Int?
    }

    /// `directory` is the lab file's (absolute), against which relative rootfs paths resolve.
    public init(_ lab: LabFile, directory: String) {
        self.lab = lab
        var steps: [Step] = []
        for network in lab.networks {
            var arguments = ["net", "create", lab.networkName(network.name)]
            if let subnet = network.subnet { arguments += ["--subnet", "\(subnet)"] }
            if let mtu = network.mtu { arguments += ["--mtu", "\(mtu)"] }
            if network.internal { arguments.append("--internal") }
            steps.append(.network(name: network.name, arguments: arguments))
        }
        for node in lab.nodes {
            steps.append(.node(name: node.name, container: lab.containerName(node.name),
                               arguments: Self.runArguments(node, lab: lab, directory: directory)))
        }
        for link in lab.links {
            steps.append(.link(Link(ends: link.endpoints.map { end in
                Link.End(node: end.node, container: lab.containerName(end.node), interface: end.interface,
                         address: end.address, prefix: end.address == nil ? nil : link.subnet?.prefix)
            }, mtu: link.mtu)))
        }
        for node in lab.nodes {
            for (index, attachment) in node.networks.enumerated() {
                if let impairment = attachment.impairment {
                    steps.append(.impair(container: lab.containerName(node.name), interface: "eth\(index)", impairment: impairment))
                }
            }
        }
        for link in lab.links {
            guard let impairment = link.impairment else { continue }
            for end in link.endpoints {
                steps.append(.impair(container: lab.containerName(end.node), interface: end.interface, impairment: impairment))
            }
        }
        for node in lab.nodes {
            for route in node.routes {
                steps.append(.route(container: lab.containerName(node.name), destination: route.destination, gateway: route.gateway))
            }
        }
        for node in lab.nodes {
            for command in node.exec {
                steps.append(.exec(node: node.name, container: lab.containerName(node.name), command: command))
            }
        }
        self.steps = steps
    }

    /// What a node runs when the file gives no command: nothing but staying up (and ending at
    /// SIGTERM at once), so its links and routes can be used.
    public static let idleCommand = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"]

    static func runArguments(_ node: LabFile.Node, lab: LabFile, directory: String) -> [String] {
        var arguments = ["run", "-d", "--name", lab.containerName(node.name), "--hostname", node.name,
                         "--label", "contain.lab=\(lab.name)", "--label", "contain.lab.node=\(node.name)",
                         "--rootfs", node.rootfs.hasPrefix("/") ? node.rootfs : directory + "/" + node.rootfs]
        if node.networks.isEmpty { arguments += ["--net", "none"] }
        for attachment in node.networks {
            // Its name is an alias on every network it is on: peers there resolve it by name.
            var options = ["alias=\(node.name)"]
            if let address = attachment.address { options.insert("ip=\(address)", at: 0) }
            arguments += ["--net", lab.networkName(attachment.network) + ":" + options.joined(separator: ",")]
        }
        // Link peers are resolved through /etc/hosts: there is no name server on a veth.
        for link in lab.links {
            guard let mine = link.endpoints.firstIndex(where: { $0.node == node.name }) else { continue }
            let peer = link.endpoints[1 - mine]
            if let address = peer.address { arguments += ["--add-host", "\(peer.node):\(address)"] }
        }
        for (key, value) in node.env { arguments += ["-e", "\(key)=\(value)"] }
        for volume in node.volumes { arguments += ["-v", volume] }
        for port in node.ports { arguments += ["-p", port] }
        if let memory = node.memory { arguments += ["--memory", memory] }
        if let cpus = node.cpus { arguments += ["--cpus", cpus] }
        if let pids = node.pids { arguments += ["--pids", pids] }
        if node.initProcess { arguments.append("--init") }
        for (key, value) in node.sysctls { arguments += ["--sysctl", "\(key)=\(value)"] }
        for capability in node.capAdd { arguments += ["--cap-add", capability] }
        return arguments + ["--"] + (node.command.isEmpty ? idleCommand : node.command)
    }

    /// One line per step, as `up` prints them and the golden tests read them.
    public var lines: [String] { steps.map(\.description) }
}

extension LabPlan.Step: CustomStringConvertible {
    public var description: String {
        switch self {
        case .network(let name, let arguments):
            return "network \(name): contain \(arguments.map(Self.quoted).joined(separator: " "))"
        case .node(let name, _, let arguments):
            return "node \(name): contain \(arguments.map(Self.quoted).joined(separator: " "))"
        case .link(let link):
            let ends = link.ends.map { end in
                "\(end.node):\(end.interface)" + (end.address.map { " \($0)/\(end.prefix ?? 32)" } ?? "")
            }
            return "link \(ends[0]) <-> \(ends[1])" + (link.mtu.map { " mtu \($0)" } ?? "")
        case .impair(let container, let interface, let impairment):
            return "impair \(container):\(interface) egress: \(impairment)"
        case .route(let container, let destination, let gateway):
            return "route \(container): \(destination.map { "\($0)" } ?? "default") via \(gateway)"
        case .exec(let node, _, let command):
            return "exec \(node): \(command)"
        }
    }

    /// A word as a shell would need it to read it back.
    static func quoted(_ word: String) -> String {
        let plain = word.utf8.allSatisfy { c in
            (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || "-_./:=,@%+".utf8.contains(c)
        }
        if plain && !word.isEmpty { return word }
        return "'" + word.replacing("'", with: "'\\''") + "'"
    }
}
