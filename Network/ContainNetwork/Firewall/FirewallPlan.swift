/// The nftables ruleset `contain` owns: one table, `ip contain`, rebuilt whole and atomically
/// from the list of networks in use whenever that list changes (never per container). Other
/// tables, base policies and other tools' rules are never touched.
///
///     table ip contain {
///         chain postrouting { type nat hook postrouting priority srcnat; policy accept;
///             ip saddr 10.88.0.0/24 oifname != "contain0" masquerade      # each non-internal network
///         }
///         chain forward { type filter hook forward priority filter; policy accept;
///             jump net-contain                                           # each network
///         }
///         chain net-contain {
///             iifname "contain0" oifname "contain0" accept                # within the network
///             oifname "contain0" ct state established,related accept     # replies coming back
///             oifname "contain0" drop                                     # nothing else gets in
///             iifname "contain0" accept                                   # out (internal: drop)
///         }
///     }
///
/// A network's chain is also the marker that its rules are installed.
public struct FirewallPlan: Equatable, Sendable {
    public static let table = "contain"

    public enum Hook: Equatable, Sendable { case postrouting, forward }

    public struct Chain: Equatable, Sendable {
        public var name: String
        /// Base chains hook into the stack (policy accept); regular chains are jumped to.
        public var hook: Hook?
    }

    public enum Match: Equatable, Sendable {
        case sourceIn(IPv4Network)
        case inputInterface(String)
        case outputInterface(String)
        case notOutputInterface(String)
        case establishedOrRelated
    }

    public enum Action: Equatable, Sendable {
        case accept, drop, masquerade
        case jump(String)
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
                case .inputInterface(let i): return "iifname \"\(i)\""
                case .outputInterface(let i): return "oifname \"\(i)\""
                case .notOutputInterface(let i): return "oifname != \"\(i)\""
                case .establishedOrRelated: return "ct state established,related"
                }
            }
            let verdict: String
            switch action {
            case .accept: verdict = "accept"
            case .drop: verdict = "drop"
            case .masquerade: verdict = "masquerade"
            case .jump(let c): verdict = "jump \(c)"
            }
            return (parts + [verdict]).joined(separator: " ")
        }
    }

    public var chains: [Chain]
    public var rules: [Rule]

    public static func chainName(network: String) -> String { "net-" + network }

    public init(networks: [NetworkDefinition]) {
        chains = [Chain(name: "postrouting", hook: .postrouting), Chain(name: "forward", hook: .forward)]
        rules = []
        for n in networks.sorted(by: { $0.name < $1.name }) {
            let chain = Self.chainName(network: n.name)
            chains.append(Chain(name: chain, hook: nil))
            if !n.internal {
                rules.append(Rule(chain: "postrouting", matches: [.sourceIn(n.subnet), .notOutputInterface(n.bridge)], action: .masquerade))
            }
            rules.append(Rule(chain: "forward", matches: [], action: .jump(chain)))
            rules.append(Rule(chain: chain, matches: [.inputInterface(n.bridge), .outputInterface(n.bridge)], action: .accept))
            rules.append(Rule(chain: chain, matches: [.outputInterface(n.bridge), .establishedOrRelated], action: .accept))
            rules.append(Rule(chain: chain, matches: [.outputInterface(n.bridge)], action: .drop))
            rules.append(Rule(chain: chain, matches: [.inputInterface(n.bridge)], action: n.internal ? .drop : .accept))
        }
    }
}
