import CContainShim
import ContainNetwork
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain net impair`: impairments on running containers' links. A container's egress (what
/// it sends) is impaired on its own end of the veth, from inside its namespace (this thread
/// enters it, as LiveNetworks does); its ingress on the host end. Impairments live on the
/// links, so they go with the endpoint.
public enum LinkImpairments {
    /// One interface of one running container, both ends of its veth.
    public struct Target: Sendable {
        public var container: String
        public var pid: pid_t
        public var network: String
        public var hostInterface: String
        public var containerInterface: String

        /// An interface of a running container that is not on a contain network (a lab's link):
        /// only its own end, so only egress, can be impaired.
        public init(container: String, pid: pid_t, interface: String) {
            self.init(container: container, pid: pid, network: "", hostInterface: "", containerInterface: interface)
        }

        init(container: String, pid: pid_t, network: String, hostInterface: String, containerInterface: String) {
            self.container = container
            self.pid = pid
            self.network = network
            self.hostInterface = hostInterface
            self.containerInterface = containerInterface
        }
    }

    /// Whether this kernel can make a netem qdisc: tried on the loopback of a network namespace
    /// made for the question on this thread and gone with it (the kernel loads sch_netem on
    /// demand), so nothing of the machine's is touched.
    public static func kernelHasNetem() -> Bool {
        guard let own = try? sys("open", path: "/proc/thread-self/ns/net", { open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC) }) else {
            return false
        }
        defer { close(own) }
        guard cshim_unshare(Int32(CLONE_NEWNET)) == 0 else { return false }
        defer { _ = cshim_setns(own, Int32(CLONE_NEWNET)) }
        guard let socket = try? MnlSocket() else { return false }
        let rt = Rtnetlink(transport: socket)
        var probe = Impairment()
        probe.delay = .milliseconds(1)
        return (try? rt.impair(index: 1, probe)) != nil
    }

    /// What TARGET names: `CONTAINER:IFACE`, a container (its `eth0`), or a network (every
    /// endpoint of it).
    public static func targets(_ reference: String, stateRoot: String, manager: NetworkManager) throws -> [Target] {
        var containerName = reference, interface: String? = "eth0"
        if let colon = reference.lastIndex(of: ":") {
            containerName = String(reference[..<colon])
            interface = String(reference[reference.index(after: colon)...])
        }
        let view: ContainerView
        do {
            view = try ContainerRecord.find(stateRoot: stateRoot, containerName)
        } catch {
            // Not a container: a network, every endpoint.
            guard interface == "eth0", !reference.contains(":"),
                  let status = try manager.status().first(where: { $0.definition.name == reference }) else { throw error }
            // Containers that are still starting or already ending (their lease not yet given
            // back) are left out, as `net inspect` leaves them out.
            let targets = status.leases.compactMap { lease in
                try? target(of: lease, network: reference, stateRoot: stateRoot, manager: manager)
            }
            guard !targets.isEmpty else { throw RunFailure.runtime("network \(reference) has no running containers") }
            return targets
        }
        return [try target(view, manager: manager) { $0.containerInterface == interface }]
    }

    /// The endpoint a lease of `network` stands for.
    private static func target(of lease: Lease, network: String, stateRoot: String, manager: NetworkManager) throws -> Target {
        let view = try ContainerRecord.find(stateRoot: stateRoot, lease.containerID)
        return try target(view, manager: manager) { $0.network.name == network }
    }

    private static func target(_ view: ContainerView, manager: NetworkManager, _ matches: (Endpoint) -> Bool) throws -> Target {
        guard view.isRunning, let identity = view.status.pid, identity.isAlive else {
            throw RunFailure.runtime("container \(view.displayName) is not running")
        }
        let endpoints = try manager.endpoints(of: view.info.id)
        guard let endpoint = endpoints.first(where: matches) else {
            let names = endpoints.map(\.containerInterface).joined(separator: ", ")
            throw RunFailure.runtime("container \(view.displayName) has no such interface (it has: \(names.isEmpty ? "none on a bridge network" : names))")
        }
        return Target(container: view.displayName, pid: identity.pid, network: endpoint.network.name,
                      hostInterface: endpoint.hostInterface, containerInterface: endpoint.containerInterface)
    }

    /// Sets `impairment` on every target in `direction`, or on none: what was set before a
    /// failure (a kernel without netem, an interface gone) is put back as it was.
    public static func apply(_ impairment: Impairment, direction: ImpairmentDirection, to targets: [Target]) throws {
        var done: [(Target, egress: Bool, before: Impairment?)] = []
        do {
            for target in targets {
                for egress in sides(direction) {
                    let before = try onLink(target, egress: egress) { rt, index in try rt.impairment(index: index) }
                    try onLink(target, egress: egress) { rt, index in try rt.impair(index: index, impairment) }
                    done.append((target, egress, before))
                }
            }
        } catch {
            for (target, egress, before) in done.reversed() {
                try? onLink(target, egress: egress) { rt, index in
                    try rt.clearImpairment(index: index)
                    if let before { try rt.impair(index: index, before) }
                }
            }
            throw error
        }
    }

    /// Back to the default qdisc on every target, both directions.
    public static func clear(_ targets: [Target]) throws {
        for target in targets {
            for egress in [true, false] { try onLink(target, egress: egress) { rt, index in try rt.clearImpairment(index: index) } }
        }
    }

    /// What each target has, per direction.
    public static func show(_ targets: [Target]) throws -> [(target: Target, egress: Impairment?, ingress: Impairment?)] {
        try targets.map { target in
            (target, try onLink(target, egress: true) { rt, index in try rt.impairment(index: index) },
             try onLink(target, egress: false) { rt, index in try rt.impairment(index: index) })
        }
    }

    /// What each endpoint of a network has, per direction, by container id (`net inspect`).
    /// An endpoint that cannot be read, its container ended since the lease was read or its
    /// links going, is left out: a listing does not fail for it.
    public static func show(network status: NetworkStatus, stateRoot: String,
                            manager: NetworkManager) -> [String: (egress: Impairment?, ingress: Impairment?)] {
        var found: [String: (egress: Impairment?, ingress: Impairment?)] = [:]
        for lease in status.leases {
            guard let target = try? target(of: lease, network: status.definition.name, stateRoot: stateRoot, manager: manager),
                  let shown = try? show([target]).first else { continue }
            found[lease.containerID] = (shown.egress, shown.ingress)
        }
        return found
    }

    private static func sides(_ direction: ImpairmentDirection) -> [Bool] {
        switch direction {
        case .egress: return [true]
        case .ingress: return [false]
        case .both: return [true, false]
        }
    }

    /// Runs `body` with an rtnetlink socket where the link is: the container's namespace for its
    /// own end (egress), the caller's for the host end (ingress).
    @discardableResult
    private static func onLink<T>(_ target: Target, egress: Bool, _ body: (Rtnetlink, Int32) throws -> T) throws -> T {
        func run() throws -> T {
            let rt = Rtnetlink(transport: try MnlSocket())
            let name = egress ? target.containerInterface : target.hostInterface
            guard let link = try rt.link(named: name) else { throw SystemError("netlink: find link", path: name, errno: ENODEV) }
            return try body(rt, link.index)
        }
        guard egress else { return try run() }
        var result: Result<T, Error>?
        try LiveNetworks.inside(pid: target.pid) { result = Result { try run() } }
        return try result!.get()
    }
}
