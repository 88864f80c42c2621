import CContainShim
import ContainNetwork
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain net connect` and `net disconnect` on a running container: an interface added to or
/// taken from its network namespace while it runs, with its lease and veth, as at start (the
/// name server sees the lease come and go). The lease belongs to the container's init (so it goes with the container, reclaimed
/// like the others); the new interface is configured from inside the namespace by this thread
/// alone, which enters it (setns, CLONE_NEWNET: per thread) and comes back.
public enum LiveNetworks {
    public static func connect(_ view: ContainerView, network: String, address: IPv4Address?, aliases: [String] = [],
                               manager: NetworkManager) throws -> Endpoint {
        guard view.isRunning, !view.paused, let identity = view.status.pid, identity.isAlive else {
            throw RunFailure.runtime("container \(view.displayName) is not running")
        }
        let config = try ContainerRecord.configuration(of: view)
        guard case .bridge = config.contain.networkMode else {
            throw RunFailure.runtime("container \(view.displayName) has no bridge network of its own (--net \(config.contain.networkMode)): it cannot join another")
        }
        let current = try manager.endpoints(of: view.info.id)
        if current.contains(where: { $0.network.name == network }) {
            throw RunFailure.runtime("container \(view.displayName) is on network \(network) already")
        }
        let used = Set(current.map(\.index))
        var request = EndpointRequest(containerID: view.info.id, name: view.info.name, hostname: config.hostname ?? view.shortID,
                                      address: address, owner: identity, aliases: aliases)
        request.index = (0...).first { !used.contains($0) }!
        let endpoint = try manager.attach(network: network, request)
        do {
            try manager.connect(endpoint, containerPID: identity.pid)
            let n = endpoint.network
            try inside(pid: identity.pid) {
                let rt = Rtnetlink(transport: try MnlSocket())
                guard let link = try rt.link(named: endpoint.containerInterface) else {
                    throw SystemError("netlink: find link", path: endpoint.containerInterface, errno: ENODEV)
                }
                try rt.addAddress(index: link.index, address: endpoint.address, prefix: n.subnet.prefix)
                if let address6 = endpoint.address6, let subnet6 = n.subnet6 {
                    try rt.addAddress(index: link.index, address: address6, prefix: subnet6.prefix)
                }
                try rt.setUp(index: link.index)
            }
            // A name server that died since is replaced (it sees the new lease by itself).
            try NameServerProcess.ensure(directory: manager.store.directory, networks: [network])
            // On record: `ps` shows it, and the container joins it again when restarted.
            try ContainerRecord.updateConfiguration(of: view) {
                $0.contain.networkAttachments.removeAll { $0.network == network }
                $0.contain.networkAttachments.append(ContainerConfig.NetworkAttachment(network: network, address: address?.description, aliases: aliases))
            }
        } catch {
            try? manager.removeLink(of: endpoint)
            _ = manager.detach(endpoint)
            throw error
        }
        return endpoint
    }

    /// Takes the container off `network` (not the one it was started on: its default route and
    /// ports go through that one).
    public static func disconnect(_ view: ContainerView, network: String, manager: NetworkManager) throws {
        guard let endpoint = try manager.endpoints(of: view.info.id).first(where: { $0.network.name == network }) else {
            throw RunFailure.runtime("container \(view.displayName) is not on network \(network)")
        }
        guard endpoint.index > 0 else {
            throw RunFailure.runtime("network \(network) is the one container \(view.displayName) was started on (eth0, its default route): stop the container instead")
        }
        try manager.removeLink(of: endpoint)
        if let failure = manager.detach(endpoint).first { throw failure }
        try ContainerRecord.updateConfiguration(of: view) { $0.contain.networkAttachments.removeAll { $0.network == network } }
    }

    /// Runs `body` with this thread in the network namespace of process `pid`, and back.
    public static func inside(pid: pid_t, _ body: () throws -> Void) throws {
        let own = try sys("open", path: "/proc/thread-self/ns/net") { open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC) }
        defer { close(own) }
        let path = "/proc/\(pid)/ns/net"
        let target = try sys("open", path: path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(target) }
        try sys("setns", path: path) { cshim_setns(target, Int32(CLONE_NEWNET)) }
        defer { _ = cshim_setns(own, Int32(CLONE_NEWNET)) }
        try body()
    }
}
