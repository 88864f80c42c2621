import ContainNetwork
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `lab up`, `lab down` and what the running lab looks like. Nodes and networks are made by
/// contain's own commands (see SelfCommand); links, impairments and routes over rtnetlink from
/// inside the nodes' namespaces.
public struct LabRunner {
    public let stateRoot: String
    public let networkDirectory: String
    let commands: SelfCommand
    let progress: (String) -> Void

    /// `globalArguments`: what `contain` itself was given (`--root DIR`), passed on to the
    /// commands the lab runs. `progress` gets each `[contain] ...` line's text.
    public init(stateRoot: String, networkDirectory: String, globalArguments: [String], progress: @escaping (String) -> Void) {
        self.stateRoot = stateRoot
        self.networkDirectory = networkDirectory
        self.commands = SelfCommand(globalArguments: globalArguments)
        self.progress = progress
    }

    // MARK: up

    public struct UpOptions {
        public var name: String?
        /// Keep only the rates of impairments (for kernels without netem).
        public var withoutNetem = false
        public init(name: String? = nil, withoutNetem: Bool = false) {
            self.name = name
            self.withoutNetem = withoutNetem
        }
    }

    /// Reads and checks `path`, then brings the lab up: what exists already is kept, what is
    /// missing is made. A failure takes down everything the lab made and throws.
    public func up(file path: String, _ options: UpOptions) throws -> LabFile {
        // Absolute, but symlinks kept: the file's ../rootfs is where its user sees it.
        let source = Files.absolute(path)
        let bytes: [UInt8]
        do { bytes = try Files.readBytes(path) } catch { throw LabError("cannot read lab file \(path): \(Self.reason(error))") }
        var lab = try LabFile.parse(bytes: bytes, file: path)
        let text = String(decoding: bytes, as: UTF8.self)
        if let name = options.name {
            guard LabFile.isValidName(name) else { throw LabError("invalid lab name `\(name)`: use up to 40 letters, digits and `-`") }
            lab.name = name
        }
        if options.withoutNetem {
            lab = Self.withoutNetem(lab)
        } else if lab.needsNetem && !LinkImpairments.kernelHasNetem() {
            throw LabError("lab \(lab.name) impairs links with delay, jitter, loss, duplicate, corrupt or reorder, which need netem, and this kernel has none (CONFIG_NET_SCH_NETEM): nothing was made; --no-netem keeps only the rates")
        }
        let directory = String(source[..<(source.lastIndex(of: "/") ?? source.startIndex)])
        let plan = LabPlan(lab, directory: directory.isEmpty ? "/" : directory)
        let record = LabRecord(stateRoot: stateRoot, name: lab.name)
        let lock = try record.lock()
        defer { close(lock) }
        let wasUp = record.exists
        do {
            try preflight(lab, record: record, text: text, source: source, withoutNetem: options.withoutNetem)
        } catch {
            if !wasUp { try? record.remove() }   // the lock's directory: nothing else was made
            throw error
        }
        try record.start(text: text, source: source, withoutNetem: options.withoutNetem)
        do {
            try run(plan, record: record, lock: lock)
        } catch {
            progress("lab \(lab.name): \(Self.reason(error)); taking down what it made")
            let failures = takeDown(record)
            if failures.isEmpty { try? record.remove() }
            throw LabError("lab \(lab.name) did not come up: \(Self.reason(error))"
                           + (failures.isEmpty ? "" : "; left behind: \(failures.joined(separator: "; ")) (lab down \(lab.name) again)"))
        }
        return lab
    }

    /// Everything that can be refused is refused here, before anything is made.
    func preflight(_ lab: LabFile, record: LabRecord, text: String, source: String, withoutNetem: Bool) throws {
        if record.exists, let upText = record.text, upText != text || record.source != source || record.withoutNetem != withoutNetem {
            throw LabError("lab \(lab.name) is up from \(record.source ?? "another file")\(record.source == source ? " as it was before it changed (or with other options)" : ""): lab down \(lab.name) first")
        }
        for node in lab.nodes {
            let path = node.rootfs.hasPrefix("/") ? node.rootfs : String(source[..<(source.lastIndex(of: "/") ?? source.startIndex)]) + "/" + node.rootfs
            guard Files.exists(path) else { throw LabError("node `\(node.name)`: rootfs \(node.rootfs) does not exist (\(path))") }
        }
        let mine = Set(record.made.map(\.name))
        for node in lab.nodes where !mine.contains(lab.containerName(node.name)) {
            if (try? ContainerRecord.find(stateRoot: stateRoot, lab.containerName(node.name)))?.info.name == lab.containerName(node.name) {
                throw LabError("a container named \(lab.containerName(node.name)) exists and is not lab \(lab.name)'s: nothing was made")
            }
        }
        let existing = try NetworkManager(store: NetworkStore(directory: networkDirectory)).status().map(\.definition)
        for network in lab.networks where !mine.contains(lab.networkName(network.name)) {
            if existing.contains(where: { $0.name == lab.networkName(network.name) }) {
                throw LabError("a network named \(lab.networkName(network.name)) exists and is not lab \(lab.name)'s: nothing was made")
            }
        }
        let mySubnets = lab.networks.compactMap(\.subnet) + lab.links.compactMap(\.subnet)
        for definition in existing where !mine.contains(definition.name) {
            for subnet in mySubnets where subnet.overlaps(definition.subnet) {
                throw LabError("subnet \(subnet) of lab \(lab.name) overlaps network \(definition.name)'s \(definition.subnet): nothing was made")
            }
        }
    }

    func run(_ plan: LabPlan, record: LabRecord, lock: Int32) throws {
        let lab = plan.lab
        var started = false
        for step in plan.steps {
            switch step {
            case .network(let name, let arguments):
                let network = lab.networkName(name)
                if try NetworkManager(store: NetworkStore(directory: networkDirectory)).status().contains(where: { $0.definition.name == network }) { continue }
                try record.note(.network, network)
                let result = try commands.capture(arguments, sharing: lock)
                guard result.status == 0 else { throw LabError("network \(name): \(result.reason)") }
                progress("lab \(lab.name): network \(name) made (\(network))")
            case .node(let name, let container, let arguments):
                if let view = try? ContainerRecord.find(stateRoot: stateRoot, container) {
                    if view.isRunning { continue }
                    // Ended since the last up: made again.
                    _ = try commands.capture(["rm", "-f", container])
                }
                try record.note(.node, container)
                let result = try commands.capture(arguments, sharing: lock)
                guard result.status == 0 else { throw LabError("node \(name): \(result.reason)") }
                started = true
                progress("lab \(lab.name): node \(name) started (\(container))")
            case .link(let link):
                try ensureLink(link)
            case .impair(let container, let interface, let impairment):
                let view = try running(container)
                try LinkImpairments.apply(impairment, direction: .egress,
                                          to: [LinkImpairments.Target(container: container, pid: view.pid, interface: interface)])
            case .route(let container, let destination, let gateway):
                let view = try running(container)
                try LiveNetworks.inside(pid: view.pid) {
                    try Rtnetlink(transport: try MnlSocket()).replaceRoute(to: destination, via: gateway)
                }
            case .exec(let node, let container, let command):
                // Checks run on the up that started nodes; an up that found all running is a no-op.
                guard started else { continue }
                progress("lab \(lab.name): \(node): \(command)")
                let status = try commands.passThrough(["exec", container, "--", "sh", "-c", command])
                guard status == 0 else { throw LabError("`\(command)` in node \(node) failed (exit status \(status))") }
            }
        }
    }

    /// The veth pair of `link`, made from inside the first node's namespace with its peer born in
    /// the second's: nothing of it is ever in the host's namespace, and it goes with either node.
    func ensureLink(_ link: LabPlan.Link) throws {
        let a = link.ends[0], b = link.ends[1]
        let first = try running(a.container), second = try running(b.container)
        try LiveNetworks.inside(pid: first.pid) {
            let rt = Rtnetlink(transport: try MnlSocket())
            if try rt.link(named: a.interface) == nil {
                let path = "/proc/\(second.pid)/ns/net"
                let namespace = try sys("open", path: path) { open(path, O_RDONLY | O_CLOEXEC) }
                defer { close(namespace) }
                try rt.createVeth(name: a.interface, peerName: b.interface, peerNamespace: .file(descriptor: namespace),
                                  master: nil, mtu: link.mtu.map { UInt32($0) })
            }
            try Self.configure(rt, a)
        }
        try LiveNetworks.inside(pid: second.pid) {
            try Self.configure(Rtnetlink(transport: try MnlSocket()), b)
        }
    }

    static func configure(_ rt: Rtnetlink, _ end: LabPlan.Link.End) throws {
        guard let link = try rt.link(named: end.interface) else {
            throw LabError("link end \(end.node):\(end.interface) is missing (its peer's node was made again?): lab down, then up")
        }
        if let address = end.address, let prefix = end.prefix {
            try rt.ensureAddress(index: link.index, address: address, prefix: prefix)
        }
        try rt.setUp(index: link.index)
    }

    struct Running {
        var view: ContainerView
        var pid: pid_t
    }

    func running(_ container: String) throws -> Running {
        let view = try ContainerRecord.find(stateRoot: stateRoot, container)
        guard view.isRunning, let identity = view.status.pid, identity.isAlive else {
            throw LabError("container \(container) is not running")
        }
        return Running(view: view, pid: identity.pid)
    }

    /// A lab with only the rates of its impairments.
    static func withoutNetem(_ lab: LabFile) -> LabFile {
        func rateOnly(_ impairment: Impairment?) -> Impairment? {
            guard let rate = impairment?.rate else { return nil }
            var kept = Impairment()
            kept.rate = rate
            return kept
        }
        var lab = lab
        for n in lab.nodes.indices {
            for a in lab.nodes[n].networks.indices { lab.nodes[n].networks[a].impairment = rateOnly(lab.nodes[n].networks[a].impairment) }
        }
        for l in lab.links.indices { lab.links[l].impairment = rateOnly(lab.links[l].impairment) }
        return lab
    }

    /// Becomes `contain exec CONTAINER ARGUMENTS` (for `lab exec`).
    public func replaceWithExec(container: String, arguments: [String]) throws -> Never {
        let rest = arguments.first == "--" ? Array(arguments.dropFirst()) : arguments
        try commands.replace(["exec", container, "--"] + rest)
    }

    // MARK: down

    /// Removes everything lab `name` made: its containers (by record and by label), then its
    /// networks, then its record. Returns what could not be removed (empty: all gone).
    public func down(_ name: String) throws -> [String] {
        let record = LabRecord(stateRoot: stateRoot, name: name)
        guard Files.isDirectory(record.directory) else { throw LabError("no such lab: \(name)") }
        let lock = try record.lock()
        defer { close(lock) }
        let failures = takeDown(record)
        if failures.isEmpty { try record.remove() }
        return failures
    }

    func takeDown(_ record: LabRecord) -> [String] {
        var failures: [String] = []
        var containers = record.made.filter { $0.kind == .node }.map(\.name).reversed().map { $0 }
        if let labelled = try? commands.capture(["ps", "-aq", "--no-trunc", "--filter", "label=contain.lab=\(record.name)"]),
           labelled.status == 0 {
            for id in labelled.output.split(separator: "\n").map(String.init) where !id.isEmpty {
                if let view = try? ContainerRecord.find(stateRoot: stateRoot, id), !containers.contains(view.displayName) {
                    containers.append(id)
                }
            }
        }
        for container in containers where (try? ContainerRecord.find(stateRoot: stateRoot, container)) != nil {
            if let result = try? commands.capture(["rm", "-f", container]), result.status != 0 {
                failures.append("container \(container): \(result.reason)")
            }
        }
        let manager = NetworkManager(store: NetworkStore(directory: networkDirectory))
        for network in record.made.filter({ $0.kind == .network }).map(\.name).reversed() {
            guard (try? manager.status())?.contains(where: { $0.definition.name == network }) ?? true else { continue }
            if let result = try? commands.capture(["net", "rm", network]), result.status != 0 {
                failures.append("network \(network): \(result.reason)")
            }
        }
        return failures
    }

    // MARK: what is up

    /// The lab on record, as it was brought up.
    public func recorded(_ name: String) throws -> (lab: LabFile, source: String) {
        let record = LabRecord(stateRoot: stateRoot, name: name)
        guard let text = record.text, let source = record.source else { throw LabError("no such lab: \(name)") }
        var lab = try LabFile.parse(text, file: source)
        lab.name = name
        return (record.withoutNetem ? Self.withoutNetem(lab) : lab, source)
    }

    public static func names(stateRoot: String) -> [String] { LabRecord.names(stateRoot: stateRoot) }

    public struct NodeStatus: Sendable {
        public var node: String
        public var container: String
        public var state: String
        public var pid: pid_t?
        /// Its interfaces but lo, in index order, with their IPv4 addresses (CIDR).
        public var interfaces: [(name: String, addresses: [String])]
        /// Egress impairment per interface, where one is set.
        public var impairments: [String: Impairment]
    }

    /// Each node of the lab as it is now.
    public func status(_ lab: LabFile) -> [NodeStatus] {
        lab.nodes.map { node in
            let container = lab.containerName(node.name)
            var status = NodeStatus(node: node.name, container: container, state: "missing", pid: nil, interfaces: [], impairments: [:])
            guard let view = try? ContainerRecord.find(stateRoot: stateRoot, container) else { return status }
            switch view.state {
            case .created: status.state = "created"
            case .running: status.state = view.paused ? "paused" : "running"
            case .exited(let code): status.state = "exited \(code)"
            case .dead: status.state = "dead"
            }
            guard view.isRunning, let identity = view.status.pid, identity.isAlive else { return status }
            status.pid = identity.pid
            try? LiveNetworks.inside(pid: identity.pid) {
                let rt = Rtnetlink(transport: try MnlSocket())
                let addresses = try rt.addresses()
                for link in try rt.links().sorted(by: { $0.index < $1.index }) where link.name != "lo" {
                    status.interfaces.append((link.name, addresses.filter { $0.index == link.index }.map { "\($0.address)/\($0.network.prefix)" }))
                    if let impairment = try? rt.impairment(index: link.index) { status.impairments[link.name] = impairment }
                }
            }
            return status
        }
    }

    static func reason(_ error: Error) -> String {
        if let error = error as? LabError { return error.description }
        if let error = error as? RunFailure { return error.description }
        return "\(error)"
    }
}
