/// The nftables ruleset `contain` owns: one table, `inet contain`, for both address families.
/// Other tables, base policies and other tools' rules are never touched. Installing it removes
/// `ip contain`, the IPv4-only table of earlier versions, in the same batch.
///
///     table inet contain {
///         chain prerouting { type nat hook prerouting priority dstnat; policy accept;
///             ip6 daddr ::1 accept                                       # see below
///             fib daddr type local jump ports                            # from other hosts
///         }
///         chain output { type nat hook output priority -100; policy accept;
///             ip6 daddr ::1 accept
///             fib daddr type local jump ports                            # from the host itself
///         }
///         chain ports {
///             jump ports-4f3a9c1d2b7e comment "4f3a9c1d2b7e…"            # one per container and
///         }                                                              #   network it publishes on
///         chain ports-4f3a9c1d2b7e {
///             meta l4proto tcp th dport 8080 dnat ip to 10.88.0.2:80     # each published port,
///             meta l4proto tcp th dport 8080 dnat ip6 to [fd00:88::2]:80 #   per family the container has
///         }
///         chain postrouting { type nat hook postrouting priority srcnat; policy accept;
///             ip saddr 10.88.0.0/24 oifname != "contain0" masquerade      # each non-internal network
///             ip saddr 10.88.0.0/24 oifname "contain0" ct status dnat masquerade   # hairpin
///             ip saddr 127.0.0.0/8 oifname "contain0" masquerade         # the host's 127.0.0.1:PORT
///             ip6 saddr fd00:88::/64 oifname != "contain0" masquerade    # unique-local IPv6 only
///             ip6 saddr fd00:88::/64 oifname "contain0" ct status dnat masquerade
///         }
///         chain forward { type filter hook forward priority filter; policy accept;
///             iifname "ct-iso" oifname != "ct-iso" drop                 # each internal network first
///             jump net-contain                                           # each network: what may get in
///             iifname "contain0" accept                                   # then each: out (internal: drop)
///         }
///         chain guard { type filter hook prerouting priority raw; policy accept;
///             iifname "contain0" ip daddr 127.0.0.0/8 drop              # each non-internal network
///         }
///         chain net-contain {
///             iifname "contain0" oifname "contain0" accept                # within the network
///             oifname "contain0" ct state established,related accept     # replies coming back
///             oifname "contain0" ct status dnat accept                   # published ports
///             oifname "contain0" drop                                     # nothing else gets in
///         }
///     }
///
/// This is how `nft list` shows it. A match on an IPv4 or IPv6 header field is read only from
/// packets of that family: the encoding puts `meta nfproto ipv4` (or `ipv6`) before it, as nft
/// does and as `nft list` leaves unsaid. A DNAT names its family, and the kernel applies it to
/// packets of that family only. Everything else (interfaces, conntrack, fib, `meta l4proto`,
/// `th dport`) reads the same in both families, so the forward isolation covers IPv6 as it is.
///
/// Every network's "what gets in" comes before any network's "out": a packet from one network
/// to another meets the destination's drop whatever the order of their names (an `out` accept
/// inside each network's chain let `a` reach `b` but not `b` reach `a`).
///
/// A network's chain is also the marker that its rules are installed. The table is written
/// whole (one atomic batch: add, delete and add the table, then everything) only when a network
/// is first used or removed, and when leases with ports were reclaimed from dead owners: then
/// it is rebuilt from the live leases, whatever the kernel had.
///
/// Published ports, which change with every container that has them, are not: each container
/// publishes on a network through a chain of its own (ContainerPorts), which `ports` jumps to.
/// Its start adds that chain, its rules and the jump in one batch; its end deletes the jump,
/// then the chain's rules and the chain, in one batch. So a start or an end costs the same
/// however many ports the host publishes, and nothing else is rewritten under the other
/// containers' connections. The jump is found by its target in a listing of `ports` (one short
/// rule per publishing container), not by a handle kept on file: a whole-table write gives
/// every rule a new handle. The whole-table write builds the same chains, so a container added
/// either way is removed the same way, and after the last one `ports` is empty. The jump's
/// comment names the container, for whoever reads `nft list`. A start finding its chain there
/// already (left by an end whose delete failed) rewrites the table whole from the leases, and
/// an end finding its rules gone has nothing to do.
///
/// IPv6 has no route_localnet: DNAT from ::1 could never leave the host, so connections to
/// [::1]:PORT are let through before `ports` (to the supervisor's relay, PortReservations).
public struct FirewallPlan: Equatable, Sendable {
    public static let table = "contain"
    /// The regular chain both nat hooks jump to for local destinations: one jump in it for each
    /// container's ports.
    public static let portsChain = "ports"

    /// `guardPrerouting`: a filter chain at prerouting, priority raw (before connection
    /// tracking's NAT), for what must never get as far as routing.
    public enum Hook: Equatable, Sendable { case prerouting, output, postrouting, forward, guardPrerouting }

    /// One container's published ports on one of its networks, and where they lead: its IPv4
    /// address, and its IPv6 one when its network has an IPv6 subnet. A mapping bound to an
    /// IPv4 host address leads to IPv4 only. They live in a chain of their own, which `ports`
    /// jumps to, so that they can be added and deleted without touching anything else.
    public struct ContainerPorts: Equatable, Sendable {
        public var containerID: String
        /// Which of the container's networks this is (Endpoint.index): it may publish on several.
        public var index: Int
        public var mappings: [PortMapping]
        public var destination: IPv4Address
        public var destination6: IPv6Address?

        public init(containerID: String, index: Int = 0, mappings: [PortMapping], destination: IPv4Address,
                    destination6: IPv6Address? = nil) {
            self.containerID = containerID
            self.index = index
            self.mappings = mappings
            self.destination = destination
            self.destination6 = destination6
        }

        /// `ports-` and the first 12 characters of the container's id (its short id, as `ps`
        /// shows it), and `-N` for its network N after the first, as its veth is named.
        public static func chainName(containerID: String, index: Int = 0) -> String {
            FirewallPlan.portsChain + "-" + String(containerID.prefix(12)) + (index == 0 ? "" : "-\(index)")
        }

        public var chain: String { Self.chainName(containerID: containerID, index: index) }

        /// The rule of `ports` that leads to the chain, its comment naming the container.
        public var jump: Rule { Rule(chain: FirewallPlan.portsChain, matches: [], action: .jump(chain), comment: containerID) }

        /// The chain's DNAT rules, in the order of the mappings.
        public var rules: [Rule] {
            var rules: [Rule] = []
            for m in mappings {
                let port: [Match] = [.transport(m.transport), .destinationPort(m.hostPort)]
                if let host = m.hostAddress {
                    rules.append(Rule(chain: chain, matches: [.destination(host)] + port, action: .dnat(destination, m.containerPort)))
                } else if let host6 = m.hostAddress6 {
                    // IPv6 only (`[::]:8080:80`: any IPv6 address), and only to a container with one.
                    guard let destination6 else { continue }
                    let address: [Match] = host6 == .unspecified ? [] : [.destination6(host6)]
                    rules.append(Rule(chain: chain, matches: address + port, action: .dnat6(destination6, m.containerPort)))
                } else {
                    // Any of the host's addresses: one rule per family the container has, each DNAT
                    // taking only its own family's packets.
                    rules.append(Rule(chain: chain, matches: port, action: .dnat(destination, m.containerPort)))
                    if let destination6 {
                        rules.append(Rule(chain: chain, matches: port, action: .dnat6(destination6, m.containerPort)))
                    }
                }
            }
            return rules
        }
    }

    public struct Chain: Equatable, Sendable {
        public var name: String
        /// Base chains hook into the stack (policy accept); regular chains are jumped to.
        public var hook: Hook?
    }

    /// The address family a match reads its header field from.
    public enum Family: Equatable, Sendable { case ipv4, ipv6 }

    public enum Match: Equatable, Sendable {
        case sourceIn(IPv4Network)
        case destinationIn(IPv4Network)
        case sourceIn6(IPv6Network)
        case destinationIn6(IPv6Network)
        case inputInterface(String)
        case outputInterface(String)
        case notOutputInterface(String)
        case establishedOrRelated
        case destinationNATed
        case localDestination
        case destination(IPv4Address)
        case destination6(IPv6Address)
        case transport(PortMapping.Transport)
        case destinationPort(UInt16)

        /// The family whose header this match reads (nil: the same in both); the encoding puts
        /// `meta nfproto` for it in front.
        public var family: Family? {
            switch self {
            case .sourceIn, .destinationIn, .destination: return .ipv4
            case .sourceIn6, .destinationIn6, .destination6: return .ipv6
            case .inputInterface, .outputInterface, .notOutputInterface, .establishedOrRelated, .destinationNATed,
                 .localDestination, .transport, .destinationPort: return nil
            }
        }
    }

    public enum Action: Equatable, Sendable {
        case accept, drop, masquerade
        case jump(String)
        case dnat(IPv4Address, UInt16)
        case dnat6(IPv6Address, UInt16)
    }

    public struct Rule: Equatable, Sendable, CustomStringConvertible {
        public var chain: String
        public var matches: [Match]
        public var action: Action
        /// Shown by `nft list` after the verdict; stored in the rule's user data as nft stores it.
        public var comment: String? = nil

        /// The rule in nft's own syntax, as `nft list` shows it in an inet table (without the
        /// `meta nfproto` in front of a family's header match), for tests, messages and comparisons.
        public var description: String {
            let parts = matches.map { match -> String in
                switch match {
                case .sourceIn(let n): return "ip saddr \(n)"
                case .destinationIn(let n): return "ip daddr \(n)"
                case .sourceIn6(let n): return "ip6 saddr \(n)"
                case .destinationIn6(let n): return "ip6 daddr \(n)"
                case .inputInterface(let i): return "iifname \"\(i)\""
                case .outputInterface(let i): return "oifname \"\(i)\""
                case .notOutputInterface(let i): return "oifname != \"\(i)\""
                case .establishedOrRelated: return "ct state established,related"
                case .destinationNATed: return "ct status dnat"
                case .localDestination: return "fib daddr type local"
                case .destination(let a): return "ip daddr \(a)"
                case .destination6(let a): return "ip6 daddr \(a)"
                case .transport(let t): return "meta l4proto \(t.rawValue)"
                case .destinationPort(let p): return "th dport \(p)"
                }
            }
            let verdict: String
            switch action {
            case .accept: verdict = "accept"
            case .drop: verdict = "drop"
            case .masquerade: verdict = "masquerade"
            case .jump(let c): verdict = "jump \(c)"
            case .dnat(let a, let p): verdict = "dnat ip to \(a):\(p)"
            case .dnat6(let a, let p): verdict = "dnat ip6 to [\(a)]:\(p)"
            }
            return (parts + [verdict] + (comment.map { ["comment \"\($0)\""] } ?? [])).joined(separator: " ")
        }
    }

    public var chains: [Chain]
    public var rules: [Rule]

    public static func chainName(network: String) -> String { "net-" + network }

    static let loopback = IPv4Network(network: IPv4Address(0x7f00_0000), prefix: 8)

    /// fc00::/7 (RFC 4193): an IPv6 subnet inside it is masqueraded on the way out; a global one
    /// is routed as it is (as podman does), the upstream router knowing the way back.
    static func isUniqueLocal(_ subnet: IPv6Network) -> Bool { subnet.prefix >= 7 && subnet.network.isUniqueLocal }

    /// The whole table: the rules of `networks`, and a chain for each of `published`.
    public init(networks: [NetworkDefinition], published: [ContainerPorts] = []) {
        chains = [Chain(name: "prerouting", hook: .prerouting), Chain(name: "output", hook: .output),
                  Chain(name: Self.portsChain, hook: nil)]
            + published.map { Chain(name: $0.chain, hook: nil) }
            + [Chain(name: "postrouting", hook: .postrouting), Chain(name: "forward", hook: .forward),
               Chain(name: "guard", hook: .guardPrerouting)]
        rules = []
        for hook in ["prerouting", "output"] {
            // IPv6 has no route_localnet: DNAT from ::1 could never leave the host, so connections
            // to [::1]:PORT go to the supervisor's relay instead (PortReservations).
            rules.append(Rule(chain: hook, matches: [.destination6(.loopback)], action: .accept))
            rules.append(Rule(chain: hook, matches: [.localDestination], action: .jump(Self.portsChain)))
        }
        // In the order a container's own batch adds them (NftablesBatch.add).
        for p in published { rules += p.rules + [p.jump] }
        let sorted = networks.sorted(by: { $0.name < $1.name })
        // An internal network reaches nothing but its own members, not even another network's
        // published port through its gateway (DNAT would otherwise make that a way out).
        for n in sorted where n.internal {
            rules.append(Rule(chain: "forward", matches: [.inputInterface(n.bridge), .notOutputInterface(n.bridge)], action: .drop))
        }
        for n in sorted {
            let chain = Self.chainName(network: n.name)
            chains.append(Chain(name: chain, hook: nil))
            if !n.internal {
                rules.append(Rule(chain: "postrouting", matches: [.sourceIn(n.subnet), .notOutputInterface(n.bridge)], action: .masquerade))
                // Hairpin: a container reaching a published port through the host's address is
                // sent back into its own network; without this the answer would come straight
                // from the other container's address and be dropped.
                rules.append(Rule(chain: "postrouting", matches: [.sourceIn(n.subnet), .outputInterface(n.bridge), .destinationNATed],
                                  action: .masquerade))
                // Published ports on the host's loopback (`curl 127.0.0.1:8080`): the bridge has
                // route_localnet, so DNAT from 127.0.0.1 may leave through it, masqueraded as the
                // gateway; and (CVE-2020-8558) nothing arriving on the bridge may be addressed to
                // 127.0.0.0/8, which route_localnet would otherwise deliver to host-only services.
                rules.append(Rule(chain: "postrouting", matches: [.sourceIn(Self.loopback), .outputInterface(n.bridge)], action: .masquerade))
                rules.append(Rule(chain: "guard", matches: [.inputInterface(n.bridge), .destinationIn(Self.loopback)], action: .drop))
                // IPv6: the way out (unique-local subnets only) and the hairpin. No loopback rules:
                // IPv6 has no route_localnet, ::1 is never DNATed out of the host.
                if let subnet6 = n.subnet6 {
                    if Self.isUniqueLocal(subnet6) {
                        rules.append(Rule(chain: "postrouting", matches: [.sourceIn6(subnet6), .notOutputInterface(n.bridge)], action: .masquerade))
                    }
                    rules.append(Rule(chain: "postrouting", matches: [.sourceIn6(subnet6), .outputInterface(n.bridge), .destinationNATed],
                                      action: .masquerade))
                }
            }
            rules.append(Rule(chain: "forward", matches: [], action: .jump(chain)))
            rules.append(Rule(chain: chain, matches: [.inputInterface(n.bridge), .outputInterface(n.bridge)], action: .accept))
            rules.append(Rule(chain: chain, matches: [.outputInterface(n.bridge), .establishedOrRelated], action: .accept))
            rules.append(Rule(chain: chain, matches: [.outputInterface(n.bridge), .destinationNATed], action: .accept))
            rules.append(Rule(chain: chain, matches: [.outputInterface(n.bridge)], action: .drop))
        }
        for n in sorted {
            rules.append(Rule(chain: "forward", matches: [.inputInterface(n.bridge)], action: n.internal ? .drop : .accept))
        }
    }
}
