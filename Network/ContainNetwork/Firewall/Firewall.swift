import CLibnftnl
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// Applies FirewallPlans to the kernel over NETLINK_NETFILTER, in the caller's network namespace.
public struct Firewall {
    public init() {}

    /// Whether the rules of `network` are in place (its chain exists in contain's table).
    public func isInstalled(network: String) throws -> Bool {
        let socket = try MnlSocket(protocol: NETLINK_NETFILTER)
        do {
            _ = try socket.execute(NftablesBatch.getChain(FirewallPlan.chainName(network: network), sequence: socket.nextSequence()),
                                   operation: "nftables: look up chain")
            return true
        } catch let error as SystemError where error.errno == ENOENT {
            return false
        }
    }

    /// Whether contain's table of that family is there.
    private func exists(_ table: NftablesBatch.Table, socket: MnlSocket) throws -> Bool {
        do {
            _ = try socket.execute(NftablesBatch.getTable(table, sequence: socket.nextSequence()), operation: "nftables: look up table \(table)")
            return true
        } catch let error as SystemError where error.errno == ENOENT {
            return false
        }
    }

    /// A base chain of another table, as the kernel lists it.
    public struct ForeignChain: Equatable, Sendable, CustomStringConvertible {
        public var family: String
        public var table: String
        public var name: String
        public var description: String { "table \(family) \(table) chain \(name)" }
    }

    /// Base chains of other tables (ip or inet) on the forward hook whose policy is drop
    /// (docker-installed hosts, ufw, firewalld): they drop what contain's accept let through,
    /// since every base chain on a hook must accept a packet for it to pass.
    public func forwardDropChains() throws -> [ForeignChain] {
        let socket = try MnlSocket(protocol: NETLINK_NETFILTER)
        let replies = try socket.execute(NftablesBatch.dumpChains(sequence: socket.nextSequence()), operation: "nftables: list chains")
        var found: [ForeignChain] = []
        for reply in replies {
            let chain = nftnl_chain_alloc()!
            defer { nftnl_chain_free(chain) }
            let parsed = reply.withUnsafeBytes { raw in
                nftnl_chain_nlmsg_parse(raw.baseAddress!.assumingMemoryBound(to: nlmsghdr.self), chain)
            }
            guard parsed >= 0, nftnl_chain_is_set(chain, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue)),
                  nftnl_chain_is_set(chain, UInt16(NFTNL_CHAIN_POLICY.rawValue)) else { continue }
            let family = nftnl_chain_get_u32(chain, UInt16(NFTNL_CHAIN_FAMILY.rawValue))
            let table = String(cString: nftnl_chain_get_str(chain, UInt16(NFTNL_CHAIN_TABLE.rawValue)))
            guard family == UInt32(NFPROTO_IPV4) || family == UInt32(NFPROTO_INET), table != FirewallPlan.table,
                  nftnl_chain_get_u32(chain, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue)) == UInt32(NF_INET_FORWARD.rawValue),
                  nftnl_chain_get_u32(chain, UInt16(NFTNL_CHAIN_POLICY.rawValue)) == UInt32(NF_DROP) else { continue }
            let familyName = family == UInt32(NFPROTO_INET) ? "inet" : "ip"
            found.append(ForeignChain(family: familyName, table: table,
                                      name: String(cString: nftnl_chain_get_str(chain, UInt16(NFTNL_CHAIN_NAME.rawValue)))))
        }
        return found
    }

    /// The one line for a forward chain that drops by default, naming what to allow.
    public static func forwardDropWarning(_ chain: ForeignChain, bridge: String) -> String {
        "\(chain) drops forwarded traffic by default (policy drop), so containers on bridge \(bridge) cannot reach beyond it; "
            + "allow them, e.g. nft insert rule \(chain.family) \(chain.table) \(chain.name) iifname \"\(bridge)\" accept; "
            + "nft insert rule \(chain.family) \(chain.table) \(chain.name) oifname \"\(bridge)\" ct state established,related accept"
    }

    /// Replaces contain's table with the rules for `networks` and the `published` ports,
    /// atomically, removing the `ip contain` table of earlier versions if it is still there;
    /// with no networks both are removed. Turns on IPv4 forwarding when any network routes out.
    public func install(networks: [NetworkDefinition], published: [FirewallPlan.ContainerPorts] = []) throws {
        let socket = try MnlSocket(protocol: NETLINK_NETFILTER)
        if networks.isEmpty {
            let present = try NftablesBatch.Table.allCases.filter { try exists($0, socket: socket) }
            guard !present.isEmpty else { return }
            // Gone already: removed by hand between the look-up and the batch.
            do {
                try execute(on: socket, operation: "nftables: delete table \(FirewallPlan.table)") {
                    NftablesBatch.deleteTable(present, firstSequence: $0)
                }
            } catch let error as SystemError where error.errno == ENOENT {}
            return
        }
        let deletingLegacyTable = try exists(.legacy, socket: socket)
        try execute(on: socket, operation: "nftables: install rules") {
            NftablesBatch.replace(with: FirewallPlan(networks: networks, published: published), deletingLegacyTable: deletingLegacyTable,
                                  firstSequence: $0)
        }
        if networks.contains(where: { !$0.internal }) {
            try Files.write("/proc/sys/net/ipv4/ip_forward", "1\n")
        }
        // As docker does with IPv6 networks (a host that takes its own address from router
        // advertisements then needs accept_ra=2 on that interface).
        if networks.contains(where: { !$0.internal && $0.subnet6 != nil }) {
            try Files.write("/proc/sys/net/ipv6/conf/all/forwarding", "1\n")
        }
    }

    /// Adds one container's published ports to the installed table in one batch
    /// (NftablesBatch.add): EEXIST when its chain is there already, ENOENT when the table is not.
    public func addPorts(_ ports: FirewallPlan.ContainerPorts) throws {
        let socket = try MnlSocket(protocol: NETLINK_NETFILTER)
        try execute(on: socket, operation: "nftables: add chain \(ports.chain)") { NftablesBatch.add(ports, firstSequence: $0) }
    }

    /// Takes one container's published ports out in one batch: the jumps to `chain` that a dump
    /// of `ports` finds, the chain's rules and the chain. Rules already gone (the table rebuilt
    /// without them, or removed) are fine.
    public func removePorts(chain: String) throws {
        let socket = try MnlSocket(protocol: NETLINK_NETFILTER)
        let listed: [[UInt8]]
        do {
            listed = try socket.execute(NftablesBatch.dumpRules(chain: FirewallPlan.portsChain, sequence: socket.nextSequence()),
                                        operation: "nftables: list chain \(FirewallPlan.portsChain)")
        } catch let error as SystemError where error.errno == ENOENT {
            return
        }
        let jumps = NftablesBatch.handles(ofJumpsTo: chain, in: listed)
        do {
            try execute(on: socket, operation: "nftables: delete chain \(chain)") {
                NftablesBatch.remove(chain: chain, jumps: jumps, firstSequence: $0)
            }
        } catch let error as SystemError where error.errno == ENOENT {}
    }

    /// Sends the batch `build` makes from the socket's next sequence number, reserving the
    /// numbers it uses, and waits for every acknowledgement.
    private func execute(on socket: MnlSocket, operation: String, _ build: (UInt32) -> NftablesBatch.Encoded) throws {
        let batch = build(socket.nextSequence())
        for _ in 0..<batch.acknowledgements + 1 { _ = socket.nextSequence() }
        try socket.executeBatch(batch.bytes, acknowledgements: batch.acknowledgements, operation: operation)
    }
}
