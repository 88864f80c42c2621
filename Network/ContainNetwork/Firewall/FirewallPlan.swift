/// The nftables ruleset `contain` owns: one table, `ip contain`, rebuilt whole and atomically
/// from the list of networks in use whenever that list changes (never per container). Other
/// tables, base policies and other tools' rules are never touched.
///
///     table ip contain {
///         chain postrouting { type nat hook postrouting priority srcnat; policy accept;
///             ip saddr 10.88.0.0/24 oifname != "contain0" masquerade      # each non-internal network
///             ip saddr 10.88.0.0/24 oifname "contain0" ct status dnat masquerade   # hairpin
///         }
///         chain prerouting { type nat hook prerouting priority dstnat; policy accept;
///             fib daddr type local jump ports                            # from other hosts
///         }
///         chain output { type nat hook output priority dstnat; policy accept;
///             fib daddr type local jump ports                            # from the host itself
///         }
///         chain ports {
///             meta l4proto tcp th dport 8080 dnat to 10.88.0.2:80        # each published port
///         }
///         chain forward { type filter hook forward priority filter; policy accept;
///             iifname "ct-iso" oifname != "ct-iso" drop                 # each internal network first
///             jump net-contain                                           # each network: what may get in
///             iifname "contain0" accept                                   # then each: out (internal: drop)
///         }
///         chain net-contain {
///             iifname "contain0" oifname "contain0" accept                # within the network
///             oifname "contain0" ct state established,related accept     # replies coming back
///             oifname "contain0" ct status dnat accept                   # published ports
///             oifname "contain0" drop                                     # nothing else gets in
///         }
///     }
///
/// Every network's "what gets in" comes before any network's "out": a packet from one network
/// to another meets the destination's drop whatever the order of their names (an `out` accept
/// inside each network's chain let `a` reach `b` but not `b` reach `a`).
///
/// A network's chain is also the marker that its rules are installed. Network rules change
/// only when a network is first used or removed; a container that publishes ports replaces the
/// table once as it starts and once as it ends (one atomic batch, about a millisecond), which
/// keeps the port rules exactly in step with the live leases, reclaimed ones included.
public struct FirewallPlan: Equatable, Sendable {
    public static let table = "contain"

    /// `guardPrerouting`: a filter chain at prerouting, priority raw (before connection
    /// tracking's NAT), for what must never get as far as routing.
    public enum Hook: Equatable, Sendable { case prerouting, output, postrouting, forward, guardPrerouting }

    /// A published port and where it leads.
    public struct Publication: Equatable, Sendable {
        public var mapping: PortMapping
        public var destination: IPv4Address
        public init(mapping: PortMapping, destination: IPv4Address) { self.mapping = mapping; self.destination = destination }
    }

    public struct Chain: Equatable, Sendable {
        public var name: String
        /// Base chains hook into the stack (policy accept); regular chains are jumped to.
        public var hook: Hook?
    }

    public enum Match: Equatable, Sendable {
        case sourceIn(IPv4Network)
        case destinationIn(IPv4Network)
        case inputInterface(String)
        case outputInterface(String)
        case notOutputInterface(String)
        case establishedOrRelated
        case destinationNATed
        case localDestination
        case destination(IPv4Address)
        case transport(PortMapping.Transport)
        case destinationPort(UInt16)
    }

    public enum Action: Equatable, Sendable {
        case accept, drop, masquerade
        case jump(String)
        case dnat(IPv4Address, UInt16)
    }

    public struct Rule: Equatable, Sendable, CustomStringConvertible {
        public var chain: String
        public var matches: [Match]
        public var action: Action

        /// The rule in nft's own syntax, for tests, messages and `nft list` comparisons.
        public var description: String {
            let parts = matches.map { match -> String in
                switch match {
                case .sourceIn(let n): return "ip saddr \(n)"
                case .destinationIn(let n): return "ip daddr \(n)"
                case .inputInterface(let i): return "iifname \"\(i)\""
                case .outputInterface(let i): return "oifname \"\(i)\""
                case .notOutputInterface(let i): return "oifname != \"\(i)\""
                case .establishedOrRelated: return "ct state established,related"
                case .destinationNATed: return "ct status dnat"
                case .localDestination: return "fib daddr type local"
                case .destination(let a): return "ip daddr \(a)"
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
            case .dnat(let a, let p): verdict = "dnat to \(a):\(p)"
            }
            return (parts + [verdict]).joined(separator: " ")
        }
    }

    public var chains: [Chain]
    public var rules: [Rule]

    public static func chainName(network: String) -> String { "net-" + network }

    static let loopback = IPv4Network(network: IPv4Address(0x7f00_0000), prefix: 8)

    public init(networks: [NetworkDefinition], published: [Publication] = []) {
        chains = [Chain(name: "prerouting", hook: .prerouting), Chain(name: "output", hook: .output),
                  Chain(name: "ports", hook: nil),
                  Chain(name: "postrouting", hook: .postrouting), Chain(name: "forward", hook: .forward),
                  Chain(name: "guard", hook: .guardPrerouting)]
        rules = [Rule(chain: "prerouting", matches: [.localDestination], action: .jump("ports")),
                 Rule(chain: "output", matches: [.localDestination], action: .jump("ports"))]
        for p in published {
            let m = p.mapping
            rules.append(Rule(chain: "ports", matches: (m.hostAddress.map { [.destination($0)] } ?? [])
                                + [.transport(m.transport), .destinationPort(m.hostPort)],
                              action: .dnat(p.destination, m.containerPort)))
        }
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
