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

    /// Replaces contain's table with the rules for `networks`, atomically; with no networks
    /// the table is removed. Turns on IPv4 forwarding when any network routes out.
    public func install(networks: [NetworkDefinition], published: [FirewallPlan.Publication] = []) throws {
        let socket = try MnlSocket(protocol: NETLINK_NETFILTER)
        if networks.isEmpty {
            let batch = NftablesBatch.deleteTable(firstSequence: socket.nextSequence())
            do { try socket.executeBatch(batch.bytes, acknowledgements: batch.acknowledgements, operation: "nftables: delete table \(FirewallPlan.table)") }
            catch let error as SystemError where error.errno == ENOENT {}
            return
        }
        let batch = NftablesBatch.replace(with: FirewallPlan(networks: networks, published: published), firstSequence: socket.nextSequence())
        // Reserve the sequence numbers the batch used.
        for _ in 0..<batch.acknowledgements + 2 { _ = socket.nextSequence() }
        try socket.executeBatch(batch.bytes, acknowledgements: batch.acknowledgements, operation: "nftables: install rules")
        if networks.contains(where: { !$0.internal }) {
            try Files.write("/proc/sys/net/ipv4/ip_forward", "1\n")
        }
    }
}
