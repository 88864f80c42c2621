import CLibnftnl
import Testing
@testable import ContainNetwork

@Suite struct FirewallTests {
    static let networks = [
        try! NetworkDefinition(name: "contain", bridge: "contain0", subnet: try! IPv4Network(parsing: "10.88.0.0/24")),
        try! NetworkDefinition(name: "iso", bridge: "ct-iso", subnet: try! IPv4Network(parsing: "10.88.1.0/24"), internal: true),
    ]

    @Test func planHasOneChainPerNetworkAndNatOnlyForRoutedOnes() {
        let plan = FirewallPlan(networks: Self.networks)
        #expect(plan.chains.map(\.name) == ["prerouting", "output", "ports", "postrouting", "forward", "guard", "net-contain", "net-iso"])
        #expect(plan.chains.map(\.hook) == [.prerouting, .output, nil, .postrouting, .forward, .guardPrerouting, nil, nil])
        #expect(plan.rules.map { "\($0.chain): \($0)" } == [
            // [::1] is left to the supervisor's relay (no route_localnet in IPv6).
            "prerouting: ip6 daddr ::1 accept",
            "prerouting: fib daddr type local jump ports",
            "output: ip6 daddr ::1 accept",
            "output: fib daddr type local jump ports",
            // An internal network's way to anything else is closed before anything is allowed.
            "forward: iifname \"ct-iso\" oifname != \"ct-iso\" drop",
            "postrouting: ip saddr 10.88.0.0/24 oifname != \"contain0\" masquerade",
            "postrouting: ip saddr 10.88.0.0/24 oifname \"contain0\" ct status dnat masquerade",
            // The host's own connections to 127.0.0.1:PORT, out through the bridge; and nothing
            // from the bridge to 127.0.0.0/8.
            "postrouting: ip saddr 127.0.0.0/8 oifname \"contain0\" masquerade",
            "guard: iifname \"contain0\" ip daddr 127.0.0.0/8 drop",
            "forward: jump net-contain",
            "net-contain: iifname \"contain0\" oifname \"contain0\" accept",
            "net-contain: oifname \"contain0\" ct state established,related accept",
            "net-contain: oifname \"contain0\" ct status dnat accept",
            "net-contain: oifname \"contain0\" drop",
            "forward: jump net-iso",
            "net-iso: iifname \"ct-iso\" oifname \"ct-iso\" accept",
            "net-iso: oifname \"ct-iso\" ct state established,related accept",
            "net-iso: oifname \"ct-iso\" ct status dnat accept",
            "net-iso: oifname \"ct-iso\" drop",
            // Every network's way in before any network's way out.
            "forward: iifname \"contain0\" accept",
            "forward: iifname \"ct-iso\" drop",
        ])
    }

    /// Traffic from one network to another meets the destination's drop, for either order of
    /// their names: the rules are followed as the kernel follows them (first verdict wins).
    @Test(arguments: [("back", "front"), ("front", "back"), ("contain", "other"), ("other", "contain")])
    func networksAreIsolatedInBothDirections(names: (String, String)) throws {
        let a = try NetworkDefinition(name: names.0, bridge: "br-" + names.0, subnet: try IPv4Network(parsing: "10.90.0.0/24"))
        let b = try NetworkDefinition(name: names.1, bridge: "br-" + names.1, subnet: try IPv4Network(parsing: "10.90.1.0/24"))
        let plan = FirewallPlan(networks: [a, b])
        /// The verdict of the forward hook for a new (not established, not DNATed) packet.
        func verdict(from input: String, to output: String) -> String {
            func run(_ chain: String) -> String? {
                for rule in plan.rules where rule.chain == chain {
                    let text = "\(rule)"
                    if text.contains("established") || text.contains("ct status dnat") { continue }
                    var matches = true
                    if let r = text.firstRange(of: "iifname \""), !text[r.upperBound...].hasPrefix(input + "\"") { matches = false }
                    if let r = text.firstRange(of: "oifname \""), !text[r.upperBound...].hasPrefix(output + "\"") { matches = false }
                    guard matches else { continue }
                    if text.hasSuffix("accept") { return "accept" }
                    if text.hasSuffix("drop") { return "drop" }
                    if let r = text.firstRange(of: "jump "), let v = run(String(text[r.upperBound...])) { return v }
                }
                return nil
            }
            return run("forward") ?? "accept"
        }
        #expect(verdict(from: a.bridge, to: b.bridge) == "drop")
        #expect(verdict(from: b.bridge, to: a.bridge) == "drop")
        #expect(verdict(from: a.bridge, to: a.bridge) == "accept")
        #expect(verdict(from: a.bridge, to: "up0") == "accept")
        #expect(verdict(from: "up0", to: b.bridge) == "drop")
    }

    @Test func aForeignForwardDropNamesTableChainAndWhatToAllow() {
        let chain = Firewall.ForeignChain(family: "inet", table: "firewalld", name: "filter_FORWARD")
        #expect(Firewall.forwardDropWarning(chain, bridge: "contain0") == "table inet firewalld chain filter_FORWARD drops forwarded "
                + "traffic by default (policy drop), so containers on bridge contain0 cannot reach beyond it; allow them, e.g. "
                + "nft insert rule inet firewalld filter_FORWARD iifname \"contain0\" accept; "
                + "nft insert rule inet firewalld filter_FORWARD oifname \"contain0\" ct state established,related accept")
    }

    static func nft(_ t: nf_tables_msg_types) -> UInt16 { UInt16(NFNL_SUBSYS_NFTABLES) << 8 | UInt16(t.rawValue) }
    /// nfgenmsg's family, the byte after the netlink header.
    static func family(_ message: NetlinkMessage) -> Int { Int(message.bytes[16]) }

    @Test func batchReplacesTheInetTableInOneTransaction() {
        let plan = FirewallPlan(networks: Self.networks)
        let batch = NftablesBatch.replace(with: plan, firstSequence: 500)
        let messages = NetlinkMessage.split(batch.bytes)
        let nft = Self.nft
        let expected: [UInt16] = [UInt16(NFNL_MSG_BATCH_BEGIN), nft(NFT_MSG_NEWTABLE), nft(NFT_MSG_DELTABLE), nft(NFT_MSG_NEWTABLE)]
            + Array(repeating: nft(NFT_MSG_NEWCHAIN), count: plan.chains.count)
            + Array(repeating: nft(NFT_MSG_NEWRULE), count: plan.rules.count)
            + [UInt16(NFNL_MSG_BATCH_END)]
        #expect(messages.map(\.type) == expected)
        #expect(messages.map(\.sequence) == Array(500..<500 + UInt32(expected.count)))
        #expect(batch.acknowledgements == expected.count - 2)
        // Every message but the delimiters asks for an acknowledgement; the batch covers all bytes.
        #expect(messages.dropFirst().dropLast().allSatisfy { $0.flags & UInt16(NLM_F_ACK) != 0 })
        #expect(messages.reduce(0) { $0 + (($1.length + 3) & ~3) } == batch.bytes.count)
        // One table for both families: every table, chain and rule is inet.
        #expect(messages.dropFirst().dropLast().allSatisfy { Self.family($0) == NFPROTO_INET })
    }

    /// A host upgraded from a version whose table was `ip contain` loses it in the same batch.
    @Test func upgradeDeletesTheLegacyIPTableInTheSameBatch() {
        let plan = FirewallPlan(networks: Self.networks)
        let plain = NetlinkMessage.split(NftablesBatch.replace(with: plan, firstSequence: 1).bytes)
        let batch = NftablesBatch.replace(with: plan, deletingLegacyTable: true, firstSequence: 1)
        let messages = NetlinkMessage.split(batch.bytes)
        #expect(messages.count == plain.count + 1 && batch.acknowledgements == messages.count - 2)
        #expect(messages[1].type == Self.nft(NFT_MSG_DELTABLE) && Self.family(messages[1]) == NFPROTO_IPV4)
        #expect(String(decoding: messages[1].bytes, as: UTF8.self).contains("contain\0"))
        #expect(messages.dropFirst(2).dropLast().allSatisfy { Self.family($0) == NFPROTO_INET })
        #expect(messages.map(\.sequence) == Array(1..<1 + UInt32(messages.count)))
    }

    @Test func lookingUpATableAsksForItsFamily() {
        for (table, family) in [(NftablesBatch.Table.current, NFPROTO_INET), (.legacy, NFPROTO_IPV4)] {
            let message = NetlinkMessage.split(NftablesBatch.getTable(table, sequence: 3))
            #expect(message.count == 1 && message[0].type == Self.nft(NFT_MSG_GETTABLE) && Self.family(message[0]) == family)
            #expect(String(decoding: message[0].bytes, as: UTF8.self).contains("contain\0"))
        }
        #expect(Self.family(NetlinkMessage.split(NftablesBatch.getChain("net-lab", sequence: 7))[0]) == NFPROTO_INET)
        #expect("\(NftablesBatch.Table.current)" == "inet contain" && "\(NftablesBatch.Table.legacy)" == "ip contain")
    }

    @Test func interfaceNamesArePaddedToIfnamsiz() {
        #expect(Expressions.interfaceName("contain0") == Array("contain0".utf8) + Array(repeating: 0, count: 8))
        #expect(Expressions.interfaceName("contain0").count == 16)
    }

    @Test func emptyPlanDeletesTheTable() {
        let batch = NftablesBatch.deleteTable(firstSequence: 1)
        let messages = NetlinkMessage.split(batch.bytes)
        #expect(messages.count == 3 && Self.family(messages[1]) == NFPROTO_INET)
        #expect(batch.acknowledgements == 1)
        // With the legacy table still there, both go in one batch.
        let both = NetlinkMessage.split(NftablesBatch.deleteTable([.current, .legacy], firstSequence: 1).bytes)
        #expect(both.map(\.type) == [UInt16(NFNL_MSG_BATCH_BEGIN), Self.nft(NFT_MSG_DELTABLE), Self.nft(NFT_MSG_DELTABLE), UInt16(NFNL_MSG_BATCH_END)])
        #expect(both.dropFirst().dropLast().map(Self.family) == [NFPROTO_INET, NFPROTO_IPV4])
    }
}

/// IPv6 in the inet table: planned from the networks' IPv6 subnets, encoded as nft does.
@Suite struct FirewallIPv6Tests {
    static let ula = try! NetworkDefinition(name: "contain", bridge: "contain0", subnet: try! IPv4Network(parsing: "10.88.0.0/24"),
                                            subnet6: try! IPv6Network(parsing: "fd00:88::/64"))
    static let global = try! NetworkDefinition(name: "glob", bridge: "ct-glob", subnet: try! IPv4Network(parsing: "10.88.2.0/24"),
                                               subnet6: try! IPv6Network(parsing: "2001:db8:1::/64"))
    static let isolated = try! NetworkDefinition(name: "iso", bridge: "ct-iso", subnet: try! IPv4Network(parsing: "10.88.1.0/24"),
                                                 internal: true, subnet6: try! IPv6Network(parsing: "fd00:89::/64"))

    static func rules(_ plan: FirewallPlan, _ chain: String) -> [String] { plan.rules.filter { $0.chain == chain }.map(\.description) }

    @Test func uniqueLocalSubnetIsMasqueradedOnTheWayOutAndOnTheHairpin() {
        let plan = FirewallPlan(networks: [Self.ula])
        #expect(Self.rules(plan, "postrouting") == [
            "ip saddr 10.88.0.0/24 oifname != \"contain0\" masquerade",
            "ip saddr 10.88.0.0/24 oifname \"contain0\" ct status dnat masquerade",
            "ip saddr 127.0.0.0/8 oifname \"contain0\" masquerade",
            "ip6 saddr fd00:88::/64 oifname != \"contain0\" masquerade",
            "ip6 saddr fd00:88::/64 oifname \"contain0\" ct status dnat masquerade",
        ])
        // The loopback guard has no IPv6 counterpart (no route_localnet for ::1).
        #expect(Self.rules(plan, "guard") == ["iifname \"contain0\" ip daddr 127.0.0.0/8 drop"])
    }

    @Test func globalSubnetIsRoutedNotMasqueraded() {
        let plan = FirewallPlan(networks: [Self.global])
        let ipv6 = Self.rules(plan, "postrouting").filter { $0.hasPrefix("ip6") }
        #expect(ipv6 == ["ip6 saddr 2001:db8:1::/64 oifname \"ct-glob\" ct status dnat masquerade"])
    }

    @Test func internalNetworkGetsNoNATInEitherFamily() {
        let plan = FirewallPlan(networks: [Self.isolated])
        #expect(Self.rules(plan, "postrouting") == [])
        #expect(Self.rules(plan, "guard") == [])
        #expect(Self.rules(plan, "forward") == ["iifname \"ct-iso\" oifname != \"ct-iso\" drop", "jump net-iso", "iifname \"ct-iso\" drop"])
    }

    /// Isolation is by interface and conntrack only, so in an inet table it holds for IPv6 too;
    /// the IPv6 subnets change none of it.
    @Test func forwardIsolationReadsNoAddressSoCoversBothFamilies() {
        let networks = [Self.ula, Self.global, Self.isolated]
        let plan = FirewallPlan(networks: networks)
        let filtering = plan.rules.filter { $0.chain == "forward" || $0.chain.hasPrefix("net-") }
        #expect(!filtering.isEmpty && filtering.allSatisfy { $0.matches.allSatisfy { $0.family == nil } })
        var without6 = networks
        for i in without6.indices { without6[i].subnet6 = nil }
        #expect(filtering == FirewallPlan(networks: without6).rules.filter { $0.chain == "forward" || $0.chain.hasPrefix("net-") })
    }

    @Test func publicationReachesEachFamilyTheContainerHas() throws {
        let plan = FirewallPlan(networks: [Self.ula], published: [
            .init(containerID: "aaaa", mappings: [try PortMapping(parsing: "8080:80")], destination: IPv4Address("10.88.0.2")!,
                  destination6: IPv6Address("fd00:88::2")!),
            // Bound to an IPv4 host address: IPv4 only, whatever the container has.
            .init(containerID: "bbbb", mappings: [try PortMapping(parsing: "192.0.2.1:5353:53/udp")], destination: IPv4Address("10.88.0.3")!,
                  destination6: IPv6Address("fd00:88::3")!),
            // No IPv6 address: the IPv4 rule alone.
            .init(containerID: "cccc", mappings: [try PortMapping(parsing: "9090:90")], destination: IPv4Address("10.88.0.4")!),
        ])
        #expect(Self.rules(plan, "ports-aaaa") == [
            "meta l4proto tcp th dport 8080 dnat ip to 10.88.0.2:80",
            "meta l4proto tcp th dport 8080 dnat ip6 to [fd00:88::2]:80",
        ])
        #expect(Self.rules(plan, "ports-bbbb") == ["ip daddr 192.0.2.1 meta l4proto udp th dport 5353 dnat ip to 10.88.0.3:53"])
        #expect(Self.rules(plan, "ports-cccc") == ["meta l4proto tcp th dport 9090 dnat ip to 10.88.0.4:90"])
        #expect(Self.rules(plan, "ports") == [
            "jump ports-aaaa comment \"aaaa\"", "jump ports-bbbb comment \"bbbb\"", "jump ports-cccc comment \"cccc\"",
        ])
    }

    @Test func matchesKnowTheirFamily() throws {
        let v6 = try IPv6Network(parsing: "fd00::/64")
        #expect([FirewallPlan.Match.sourceIn6(v6), .destinationIn6(v6), .destination6(v6.firstHost)].allSatisfy { $0.family == .ipv6 })
        #expect(FirewallPlan.Match.sourceIn(FirewallPlan.loopback).family == .ipv4)
        #expect(FirewallPlan.Rule(chain: "ports", matches: [.destination6(v6.firstHost), .transport(.tcp), .destinationPort(443)],
                                  action: .dnat6(v6.firstHost, 8443)).description
                == "ip6 daddr fd00::1 meta l4proto tcp th dport 443 dnat ip6 to [fd00::1]:8443")
    }

    /// Each rule's expressions, printed by libnftnl in the format of `nft --debug=netlink`.
    static func expressions(_ rule: FirewallPlan.Rule) -> [String] {
        let plan = FirewallPlan(networks: [])
        var single = plan
        single.chains = []
        single.rules = [rule]
        let message = NetlinkMessage.split(NftablesBatch.replace(with: single, firstSequence: 1).bytes).dropLast().last!
        let parsed = nftnl_rule_alloc()!
        defer { nftnl_rule_free(parsed) }
        _ = message.bytes.withUnsafeBytes { nftnl_rule_nlmsg_parse($0.baseAddress!.assumingMemoryBound(to: nlmsghdr.self), parsed) }
        var buffer = [CChar](repeating: 0, count: 8192)
        _ = nftnl_rule_snprintf(&buffer, buffer.count, parsed, NFTNL_OUTPUT_DEFAULT.rawValue, 0)
        return String(cString: buffer).split(separator: "\n").map { $0.drop(while: { $0 == " " }) }.filter { $0.hasPrefix("[") }.map(String.init)
    }

    /// What `nft --debug=netlink -f` printed (nftables 1.0.6) for each rule's own text in an inet
    /// table: a header match gets `meta nfproto` first; a prefix of whole bytes loads only those
    /// bytes, any other loads the address and masks it. nft also sends the DNAT's flags 0x2
    /// (NF_NAT_RANGE_PROTO_SPECIFIED), which the kernel sets itself for a port register: the
    /// kernel lists both identically (flags 0x3).
    @Test func expressionsAreWhatNftEmits() throws {
        let v6 = try IPv6Network(parsing: "fd00:88::/64")
        let cases: [(FirewallPlan.Rule, [String])] = [
            (.init(chain: "postrouting", matches: [.sourceIn6(v6), .notOutputInterface("contain0")], action: .masquerade), [
                "[ meta load nfproto => reg 1 ]",
                "[ cmp eq reg 1 0x0000000a ]",
                "[ payload load 8b @ network header + 8 => reg 1 ]",
                "[ cmp eq reg 1 0x880000fd 0x00000000 ]",
                "[ meta load oifname => reg 1 ]",
                "[ cmp neq reg 1 0x746e6f63 0x306e6961 0x00000000 0x00000000 ]",
                "[ masq ]"]),
            (.init(chain: "postrouting", matches: [.sourceIn6(try IPv6Network(parsing: "fc00::/7"))], action: .masquerade), [
                "[ meta load nfproto => reg 1 ]",
                "[ cmp eq reg 1 0x0000000a ]",
                "[ payload load 16b @ network header + 8 => reg 1 ]",
                "[ bitwise reg 1 = ( reg 1 & 0x000000fe 0x00000000 0x00000000 0x00000000 ) ^ 0x00000000 0x00000000 0x00000000 0x00000000 ]",
                "[ cmp eq reg 1 0x000000fc 0x00000000 0x00000000 0x00000000 ]",
                "[ masq ]"]),
            (.init(chain: "ports", matches: [.destination6(IPv6Address("2001:db8::1")!), .transport(.tcp), .destinationPort(8080)],
                   action: .dnat6(IPv6Address("fd00:88::2")!, 80)), [
                "[ meta load nfproto => reg 1 ]",
                "[ cmp eq reg 1 0x0000000a ]",
                "[ payload load 16b @ network header + 24 => reg 1 ]",
                "[ cmp eq reg 1 0xb80d0120 0x00000000 0x00000000 0x01000000 ]",
                "[ meta load l4proto => reg 1 ]",
                "[ cmp eq reg 1 0x00000006 ]",
                "[ payload load 2b @ transport header + 2 => reg 1 ]",
                "[ cmp eq reg 1 0x0000901f ]",
                "[ immediate reg 1 0x880000fd 0x00000000 0x00000000 0x02000000 ]",
                "[ immediate reg 2 0x00005000 ]",
                "[ nat dnat ip6 addr_min reg 1 proto_min reg 2 ]"]),
            (.init(chain: "postrouting", matches: [.sourceIn(try IPv4Network(parsing: "10.88.16.0/20")), .outputInterface("contain0"), .destinationNATed],
                   action: .masquerade), [
                "[ meta load nfproto => reg 1 ]",
                "[ cmp eq reg 1 0x00000002 ]",
                "[ payload load 4b @ network header + 12 => reg 1 ]",
                "[ bitwise reg 1 = ( reg 1 & 0x00f0ffff ) ^ 0x00000000 ]",
                "[ cmp eq reg 1 0x0010580a ]",
                "[ meta load oifname => reg 1 ]",
                "[ cmp eq reg 1 0x746e6f63 0x306e6961 0x00000000 0x00000000 ]",
                "[ ct load status => reg 1 ]",
                "[ bitwise reg 1 = ( reg 1 & 0x00000020 ) ^ 0x00000000 ]",
                "[ cmp neq reg 1 0x00000000 ]",
                "[ masq ]"]),
            // The family goes right before the first header match, once.
            (.init(chain: "guard", matches: [.inputInterface("contain0"), .destinationIn(FirewallPlan.loopback)], action: .drop), [
                "[ meta load iifname => reg 1 ]",
                "[ cmp eq reg 1 0x746e6f63 0x306e6961 0x00000000 0x00000000 ]",
                "[ meta load nfproto => reg 1 ]",
                "[ cmp eq reg 1 0x00000002 ]",
                "[ payload load 1b @ network header + 16 => reg 1 ]",
                "[ cmp eq reg 1 0x0000007f ]",
                "[ immediate reg 0 drop ]"]),
            (.init(chain: "ports", matches: [.destination(IPv4Address("192.0.2.1")!), .transport(.udp), .destinationPort(5353)],
                   action: .dnat(IPv4Address("10.88.0.3")!, 53)), [
                "[ meta load nfproto => reg 1 ]",
                "[ cmp eq reg 1 0x00000002 ]",
                "[ payload load 4b @ network header + 16 => reg 1 ]",
                "[ cmp eq reg 1 0x010200c0 ]",
                "[ meta load l4proto => reg 1 ]",
                "[ cmp eq reg 1 0x00000011 ]",
                "[ payload load 2b @ transport header + 2 => reg 1 ]",
                "[ cmp eq reg 1 0x0000e914 ]",
                "[ immediate reg 1 0x0300580a ]",
                "[ immediate reg 2 0x00003500 ]",
                "[ nat dnat ip addr_min reg 1 proto_min reg 2 ]"]),
        ]
        for (rule, expected) in cases {
            #expect(Self.expressions(rule) == expected, "\(rule)")
        }
    }

    /// The whole NFT_MSG_NEWRULE for `ip6 saddr fd00:88::/64 oifname != "contain0" masquerade`.
    @Test func ipv6MasqueradeRuleGoldenBytes() throws {
        let rule = FirewallPlan.Rule(chain: "postrouting", matches: [.sourceIn6(try IPv6Network(parsing: "fd00:88::/64")),
                                                                     .notOutputInterface("contain0")], action: .masquerade)
        var writer = BatchWriter(sequence: 7)
        writer.rule(rule)
        #expect(writer.bytes == Self.golden, "\(writer.bytes)")
    }

    static let golden: [UInt8] = [
        // nlmsghdr: length 344, NFT_MSG_NEWRULE, REQUEST|ACK|APPEND|CREATE, seq 7; nfgenmsg NFPROTO_INET
        0x58, 0x01, 0x00, 0x00, 0x06, 0x0a, 0x05, 0x0c, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x00, 0x00,
        // table "contain", chain "postrouting"
        0x0c, 0x00, 0x01, 0x00, 0x63, 0x6f, 0x6e, 0x74, 0x61, 0x69, 0x6e, 0x00, 0x10, 0x00, 0x02, 0x00,
        0x70, 0x6f, 0x73, 0x74, 0x72, 0x6f, 0x75, 0x74, 0x69, 0x6e, 0x67, 0x00,
        // NFTA_RULE_EXPRESSIONS
        0x28, 0x01, 0x04, 0x80,
        // meta load nfproto => reg 1
        0x24, 0x00, 0x01, 0x80, 0x09, 0x00, 0x01, 0x00, 0x6d, 0x65, 0x74, 0x61, 0x00, 0x00, 0x00, 0x00,
        0x14, 0x00, 0x02, 0x80, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x08, 0x00, 0x01, 0x00,
        0x00, 0x00, 0x00, 0x01,
        // cmp eq reg 1 0x0a
        0x2c, 0x00, 0x01, 0x80, 0x08, 0x00, 0x01, 0x00, 0x63, 0x6d, 0x70, 0x00, 0x20, 0x00, 0x02, 0x80,
        0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x0c, 0x00, 0x03, 0x80, 0x05, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x00, 0x00,
        // payload load 8b @ network header + 8 => reg 1
        0x34, 0x00, 0x01, 0x80, 0x0c, 0x00, 0x01, 0x00, 0x70, 0x61, 0x79, 0x6c, 0x6f, 0x61, 0x64, 0x00,
        0x24, 0x00, 0x02, 0x80, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x02, 0x00,
        0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x08, 0x08, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x08,
        // cmp eq reg 1 fd00:88::/64's first 8 bytes
        0x30, 0x00, 0x01, 0x80, 0x08, 0x00, 0x01, 0x00, 0x63, 0x6d, 0x70, 0x00, 0x24, 0x00, 0x02, 0x80,
        0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x10, 0x00, 0x03, 0x80, 0x0c, 0x00, 0x01, 0x00, 0xfd, 0x00, 0x00, 0x88, 0x00, 0x00, 0x00, 0x00,
        // meta load oifname => reg 1
        0x24, 0x00, 0x01, 0x80, 0x09, 0x00, 0x01, 0x00, 0x6d, 0x65, 0x74, 0x61, 0x00, 0x00, 0x00, 0x00,
        0x14, 0x00, 0x02, 0x80, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x07, 0x08, 0x00, 0x01, 0x00,
        0x00, 0x00, 0x00, 0x01,
        // cmp neq reg 1 "contain0" (IFNAMSIZ)
        0x38, 0x00, 0x01, 0x80, 0x08, 0x00, 0x01, 0x00, 0x63, 0x6d, 0x70, 0x00, 0x2c, 0x00, 0x02, 0x80,
        0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
        0x18, 0x00, 0x03, 0x80, 0x14, 0x00, 0x01, 0x00, 0x63, 0x6f, 0x6e, 0x74, 0x61, 0x69, 0x6e, 0x30,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        // masq
        0x14, 0x00, 0x01, 0x80, 0x09, 0x00, 0x01, 0x00, 0x6d, 0x61, 0x73, 0x71, 0x00, 0x00, 0x00, 0x00,
        0x04, 0x00, 0x02, 0x80,
    ]
}

/// Each container's published ports in a chain of their own, added and removed by themselves.
@Suite struct FirewallPortChainTests {
    static let id = "4f3a9c1d2b7e" + String(repeating: "0", count: 52)
    static let web = FirewallPlan.ContainerPorts(containerID: id, mappings: [try! PortMapping(parsing: "8080:80"), try! PortMapping(parsing: "53:53/udp")],
                                                 destination: IPv4Address("10.88.0.2")!, destination6: IPv6Address("fd00:88::2"))
    /// The same container on its second network.
    static let second = FirewallPlan.ContainerPorts(containerID: id, index: 1, mappings: [try! PortMapping(parsing: "9090:90")],
                                                    destination: IPv4Address("10.88.1.2")!)

    static let nft = FirewallTests.nft

    /// A rule message parsed back by libnftnl: its chain, handle (nil: none) and user data.
    static func decoded(_ message: NetlinkMessage) -> (chain: String, handle: UInt64?, userData: [UInt8]) {
        let rule = nftnl_rule_alloc()!
        defer { nftnl_rule_free(rule) }
        _ = message.bytes.withUnsafeBytes { nftnl_rule_nlmsg_parse($0.baseAddress!.assumingMemoryBound(to: nlmsghdr.self), rule) }
        let handle = nftnl_rule_is_set(rule, UInt16(NFTNL_RULE_HANDLE.rawValue)) ? nftnl_rule_get_u64(rule, UInt16(NFTNL_RULE_HANDLE.rawValue)) : nil
        var length: UInt32 = 0
        let data = nftnl_rule_get_data(rule, UInt16(NFTNL_RULE_USERDATA.rawValue), &length)
        let userData = data.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(length))) } ?? []
        return (String(cString: nftnl_rule_get_str(rule, UInt16(NFTNL_RULE_CHAIN.rawValue))), handle, userData)
    }

    /// A chain message's name, parsed back by libnftnl.
    static func chainName(_ message: NetlinkMessage) -> String {
        let chain = nftnl_chain_alloc()!
        defer { nftnl_chain_free(chain) }
        _ = message.bytes.withUnsafeBytes { nftnl_chain_nlmsg_parse($0.baseAddress!.assumingMemoryBound(to: nlmsghdr.self), chain) }
        return String(cString: nftnl_chain_get_str(chain, UInt16(NFTNL_CHAIN_NAME.rawValue)))
    }

    @Test func eachContainerHasItsOwnChainWhichPortsJumpsTo() {
        let plan = FirewallPlan(networks: FirewallTests.networks, published: [Self.web, Self.second])
        #expect(Self.web.chain == "ports-4f3a9c1d2b7e" && Self.second.chain == "ports-4f3a9c1d2b7e-1")
        #expect(plan.chains.map(\.name) == ["prerouting", "output", "ports", "ports-4f3a9c1d2b7e", "ports-4f3a9c1d2b7e-1",
                                            "postrouting", "forward", "guard", "net-contain", "net-iso"])
        #expect(plan.chains.filter { $0.name.hasPrefix("ports") }.allSatisfy { $0.hook == nil })
        // `ports` holds the jumps and nothing else, each naming its container in full.
        #expect(FirewallIPv6Tests.rules(plan, "ports") == [
            "jump ports-4f3a9c1d2b7e comment \"\(Self.id)\"", "jump ports-4f3a9c1d2b7e-1 comment \"\(Self.id)\"",
        ])
        #expect(FirewallIPv6Tests.rules(plan, "ports-4f3a9c1d2b7e") == [
            "meta l4proto tcp th dport 8080 dnat ip to 10.88.0.2:80",
            "meta l4proto tcp th dport 8080 dnat ip6 to [fd00:88::2]:80",
            "meta l4proto udp th dport 53 dnat ip to 10.88.0.2:53",
            "meta l4proto udp th dport 53 dnat ip6 to [fd00:88::2]:53",
        ])
        #expect(FirewallIPv6Tests.rules(plan, "ports-4f3a9c1d2b7e-1") == ["meta l4proto tcp th dport 9090 dnat ip to 10.88.1.2:90"])
        // Without ports, `ports` is empty: [::1] is let through before it, in both hooks.
        #expect(FirewallIPv6Tests.rules(FirewallPlan(networks: FirewallTests.networks), "ports").isEmpty)
    }

    /// A container's own batch: its chain (new, or EEXIST), its rules, the jump; no table
    /// message, nothing of anyone else. Its rules are byte for byte those the whole table has
    /// for it, so either way it went in, its removal is the same.
    @Test func addingAContainersPortsTouchesNothingElse() {
        let batch = NftablesBatch.add(Self.web, firstSequence: 40)
        let messages = NetlinkMessage.split(batch.bytes)
        #expect(messages.map(\.type) == [UInt16(NFNL_MSG_BATCH_BEGIN), Self.nft(NFT_MSG_NEWCHAIN)]
                + Array(repeating: Self.nft(NFT_MSG_NEWRULE), count: 5) + [UInt16(NFNL_MSG_BATCH_END)])
        #expect(messages.map(\.sequence) == Array(40..<40 + UInt32(messages.count)))
        #expect(batch.acknowledgements == messages.count - 2)
        #expect(messages.dropFirst().dropLast().allSatisfy { FirewallTests.family($0) == NFPROTO_INET && $0.flags & UInt16(NLM_F_ACK) != 0 })
        #expect(messages.reduce(0) { $0 + (($1.length + 3) & ~3) } == batch.bytes.count)
        #expect(Self.chainName(messages[1]) == "ports-4f3a9c1d2b7e")
        #expect(messages[1].flags & UInt16(NLM_F_EXCL | NLM_F_CREATE) == UInt16(NLM_F_EXCL | NLM_F_CREATE))
        #expect(messages[2..<6].map { Self.decoded($0).chain } == Array(repeating: "ports-4f3a9c1d2b7e", count: 4))
        #expect(Self.decoded(messages[6]).chain == "ports" && Self.decoded(messages[6]).userData == BatchWriter.userData(comment: Self.id))
        #expect(messages[6].bytes == Self.jumpMessage(sequence: 46))

        let whole = NetlinkMessage.split(NftablesBatch.replace(with: FirewallPlan(networks: FirewallTests.networks, published: [Self.web]),
                                                               firstSequence: 1).bytes)
        let body = { (m: NetlinkMessage) in Array(m.bytes[16...]) }       // past the header: sequence numbers differ
        let wholeRules = whole.filter { $0.type == Self.nft(NFT_MSG_NEWRULE) && Self.decoded($0).chain.hasPrefix("ports") }
        #expect(wholeRules.map(body) == messages[2..<7].map(body))
        // The same chain, which the whole table (new in the same batch) does not need to be exclusive.
        let wholeChain = whole.first { $0.type == Self.nft(NFT_MSG_NEWCHAIN) && Self.chainName($0) == "ports-4f3a9c1d2b7e" }
        #expect(wholeChain.map(body) == body(messages[1]))
        #expect(wholeChain.map { $0.flags & UInt16(NLM_F_EXCL) } == 0)
    }

    /// The whole NFT_MSG_NEWRULE of `jump ports-4f3a9c1d2b7e comment "<id>"`: the attributes
    /// `nft --debug=mnl add rule inet contain ports jump ... comment ...` sends (nft puts the
    /// user data after the expressions, libnftnl before them; the kernel takes either order).
    static func jumpMessage(sequence: UInt32) -> [UInt8] {
        // nlmsghdr: length 192, NFT_MSG_NEWRULE, REQUEST|ACK|APPEND|CREATE; nfgenmsg NFPROTO_INET
        [0xc0, 0x00, 0x00, 0x00, 0x06, 0x0a, 0x05, 0x0c] + withUnsafeBytes(of: sequence) { Array($0) }
            + [0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00]
            // table "contain", chain "ports"
            + [0x0c, 0x00, 0x01, 0x00, 0x63, 0x6f, 0x6e, 0x74, 0x61, 0x69, 0x6e, 0x00]
            + [0x0a, 0x00, 0x02, 0x00, 0x70, 0x6f, 0x72, 0x74, 0x73, 0x00, 0x00, 0x00]
            // NFTA_RULE_USERDATA: NFTNL_UDATA_RULE_COMMENT, 65 bytes: the id and its zero
            + [0x47, 0x00, 0x07, 0x00, 0x00, 0x41] + Array(id.utf8) + [0x00, 0x00]
            // NFTA_RULE_EXPRESSIONS: immediate, reg 0 (verdict), NFT_JUMP (-3) to "ports-4f3a9c1d2b7e"
            + [0x4c, 0x00, 0x04, 0x80, 0x48, 0x00, 0x01, 0x80, 0x0e, 0x00, 0x01, 0x00] + Array("immediate".utf8) + [0x00, 0x00, 0x00]
            + [0x34, 0x00, 0x02, 0x80, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00]
            + [0x28, 0x00, 0x02, 0x80, 0x24, 0x00, 0x02, 0x80, 0x08, 0x00, 0x01, 0x00, 0xff, 0xff, 0xff, 0xfd]
            + [0x17, 0x00, 0x02, 0x00] + Array("ports-4f3a9c1d2b7e".utf8) + [0x00, 0x00]
    }

    @Test func removingAContainersPortsDeletesItsJumpsRulesAndChain() {
        let batch = NftablesBatch.remove(chain: Self.web.chain, jumps: [42], firstSequence: 9)
        let messages = NetlinkMessage.split(batch.bytes)
        #expect(messages.map(\.type) == [UInt16(NFNL_MSG_BATCH_BEGIN), Self.nft(NFT_MSG_DELRULE), Self.nft(NFT_MSG_DELRULE),
                                         Self.nft(NFT_MSG_DELCHAIN), UInt16(NFNL_MSG_BATCH_END)])
        #expect(messages.map(\.sequence) == Array(9..<14))
        #expect(batch.acknowledgements == 3)
        #expect(messages.dropFirst().dropLast().allSatisfy { FirewallTests.family($0) == NFPROTO_INET && $0.flags == UInt16(NLM_F_REQUEST | NLM_F_ACK) })
        // The jump by its handle, then every rule of the chain (no handle: a flush), then the chain.
        #expect(Self.decoded(messages[1]).chain == "ports" && Self.decoded(messages[1]).handle == 42)
        #expect(Self.decoded(messages[2]).chain == "ports-4f3a9c1d2b7e" && Self.decoded(messages[2]).handle == nil)
        #expect(Self.chainName(messages[3]) == "ports-4f3a9c1d2b7e")
        #expect(messages[1].bytes == [
            // nlmsghdr: length 56, NFT_MSG_DELRULE, REQUEST|ACK, seq 10; nfgenmsg NFPROTO_INET
            0x38, 0x00, 0x00, 0x00, 0x08, 0x0a, 0x05, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x01, 0x00, 0x00, 0x00,
            // table "contain", chain "ports", handle 42 (big endian)
            0x0c, 0x00, 0x01, 0x00, 0x63, 0x6f, 0x6e, 0x74, 0x61, 0x69, 0x6e, 0x00,
            0x0a, 0x00, 0x02, 0x00, 0x70, 0x6f, 0x72, 0x74, 0x73, 0x00, 0x00, 0x00,
            0x0c, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a,
        ])
        // No jump found (the table rebuilt without it): the chain alone.
        let alone = NetlinkMessage.split(NftablesBatch.remove(chain: Self.web.chain, jumps: [], firstSequence: 1).bytes)
        #expect(alone.map(\.type) == [UInt16(NFNL_MSG_BATCH_BEGIN), Self.nft(NFT_MSG_DELRULE), Self.nft(NFT_MSG_DELCHAIN), UInt16(NFNL_MSG_BATCH_END)])
    }

    /// A rule as a dump lists it: NFT_MSG_NEWRULE with its handle.
    static func listed(_ rule: FirewallPlan.Rule, handle: UInt64, table: String = FirewallPlan.table) -> [UInt8] {
        var writer = BatchWriter(sequence: 1)
        writer.rule(rule)
        let parsed = nftnl_rule_alloc()!
        defer { nftnl_rule_free(parsed) }
        _ = writer.bytes.withUnsafeBytes { nftnl_rule_nlmsg_parse($0.baseAddress!.assumingMemoryBound(to: nlmsghdr.self), parsed) }
        nftnl_rule_set_u64(parsed, UInt16(NFTNL_RULE_HANDLE.rawValue), handle)
        nftnl_rule_set_str(parsed, UInt16(NFTNL_RULE_TABLE.rawValue), table)
        var buffer = [UInt8](repeating: 0, count: 8192)
        return buffer.withUnsafeMutableBytes { raw in
            let nlh = nftnl_nlmsg_build_hdr(raw.baseAddress!.assumingMemoryBound(to: CChar.self), UInt16(NFT_MSG_NEWRULE.rawValue),
                                            UInt16(NFPROTO_INET), UInt16(NLM_F_MULTI), 1)!
            nftnl_rule_nlmsg_build_payload(nlh, parsed)
            return Array(raw[0..<Int(nlh.pointee.nlmsg_len)])
        }
    }

    @Test func theJumpsToAChainAreFoundInADumpOfPorts() {
        let request = NetlinkMessage.split(NftablesBatch.dumpRules(chain: "ports", sequence: 5))
        #expect(request.count == 1 && request[0].type == Self.nft(NFT_MSG_GETRULE) && FirewallTests.family(request[0]) == NFPROTO_INET)
        #expect(request[0].flags == UInt16(NLM_F_REQUEST | NLM_F_DUMP))
        #expect(Self.decoded(request[0]).chain == "ports")
        let other = FirewallPlan.ContainerPorts(containerID: "bbbb2222cccc3333", mappings: [], destination: IPv4Address("10.88.0.3")!)
        let replies = [
            Self.listed(other.jump, handle: 7),
            Self.listed(Self.web.jump, handle: 42),
            Self.listed(Self.second.jump, handle: 43),                       // `ports-…-1`: another chain
            Self.listed(Self.web.jump, handle: 44, table: "elsewhere"),      // should a kernel not filter
            Self.listed(.init(chain: "ports", matches: [.transport(.tcp)], action: .accept), handle: 45),   // not a jump
        ]
        #expect(NftablesBatch.handles(ofJumpsTo: Self.web.chain, in: replies) == [42])
        #expect(NftablesBatch.handles(ofJumpsTo: other.chain, in: replies) == [7])
        #expect(NftablesBatch.handles(ofJumpsTo: "ports-nothere", in: replies).isEmpty)
    }

    @Test func aCommentIsStoredAsNftStoresIt() {
        // What `nft --debug=mnl ... comment "aaaa1111cccc0000"` sends as NFTA_RULE_USERDATA.
        #expect(BatchWriter.userData(comment: "aaaa1111cccc0000") == [0x00, 0x11] + Array("aaaa1111cccc0000".utf8) + [0x00])
        // At most NFTNL_UDATA_COMMENT_MAXLEN (128) bytes, the zero included.
        #expect(BatchWriter.userData(comment: String(repeating: "x", count: 200)).count == 2 + 128)
    }
}

@Suite struct PortMappingTests {
    @Test(arguments: [
        ("8080:80", "8080:80/tcp"), ("53:53/udp", "53:53/udp"), ("198.51.100.1:8443:443/tcp", "198.51.100.1:8443:443/tcp"),
        ("1:65535", "1:65535/tcp"), ("[::]:8080:80", "[::]:8080:80/tcp"), ("[2001:DB8::1]:53:53/udp", "[2001:db8::1]:53:53/udp"),
    ])
    func parses(text: String, canonical: String) throws {
        #expect(try PortMapping(parsing: text).description == canonical)
    }

    @Test(arguments: ["80", "0:80", "8080:0", "65536:80", "a:80", "8080:80/sctp", "1.2.3:8080:80", "8080:80:90:100", ":80", "8080:", "8080:80/", " 8080:80",
                      "[::]8080:80", "[::]:1.2.3.4:8080:80", "[::]:8080", "[::1:8080:80", "[10.0.0.1]:8080:80", "::1:8080:80"])
    func rejects(text: String) {
        #expect(throws: NetworkError.invalid("invalid -p `\(text)`: expected [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp], e.g. 8080:80 or [::]:8080:80")) {
            try PortMapping(parsing: text)
        }
    }

    @Test func clashesNeedTheSamePortTransportAndAnOverlappingAddress() throws {
        let any = try PortMapping(parsing: "8080:80")
        #expect(any.clashes(with: try PortMapping(parsing: "8080:81")))
        #expect(any.clashes(with: try PortMapping(parsing: "192.0.2.1:8080:81")))
        #expect(!any.clashes(with: try PortMapping(parsing: "8080:80/udp")))
        #expect(!any.clashes(with: try PortMapping(parsing: "8081:80")))
        #expect(!(try PortMapping(parsing: "192.0.2.1:8080:80")).clashes(with: try PortMapping(parsing: "192.0.2.2:8080:80")))
    }

    @Test func publishedPortsBecomeDnatRules() throws {
        let plan = FirewallPlan(networks: [FirewallTests.networks[0]], published: [
            .init(containerID: "aaaa1111", mappings: [try PortMapping(parsing: "8080:80"), try PortMapping(parsing: "192.0.2.1:5353:53/udp")],
                  destination: IPv4Address("10.88.0.2")!),
        ])
        #expect(FirewallIPv6Tests.rules(plan, "ports-aaaa1111") == ["meta l4proto tcp th dport 8080 dnat ip to 10.88.0.2:80",
                                                                   "ip daddr 192.0.2.1 meta l4proto udp th dport 5353 dnat ip to 10.88.0.2:53"])
        #expect(plan.rules.contains { $0.chain == "prerouting" && $0.description == "fib daddr type local jump ports" })
        #expect(plan.rules.contains { $0.chain == "output" && $0.description == "fib daddr type local jump ports" })
        #expect(NetlinkMessage.split(NftablesBatch.replace(with: plan, firstSequence: 1).bytes).count == 4 + plan.chains.count + plan.rules.count + 1)
    }

    @Test func leasesKeepTheirPorts() throws {
        var table = LeaseTable()
        _ = try table.allocate(Lease(address: IPv4Address(0), containerID: "a", owner: LeaseTableTests.alive, hostInterface: "veth",
                                     ports: [try PortMapping(parsing: "8080:80"), try PortMapping(parsing: "53:53/udp")]),
                               subnet: try IPv4Network(parsing: "10.88.0.0/24"), gateway: IPv4Address("10.88.0.1")!)
        #expect(table.serialized.contains("\t8080:80/tcp,53:53/udp\t"))
        #expect(try LeaseTable(parsing: table.serialized) == table)
    }

    @Test func familiesDecideWhatClashes() throws {
        func p(_ t: String) throws -> PortMapping { try PortMapping(parsing: t) }
        #expect(try p("8080:80").clashes(with: p("[::]:8080:81")))
        #expect(try p("[::1]:8080:80").clashes(with: p("[::]:8080:81")))
        #expect(try !p("[::1]:8080:80").clashes(with: p("[2001:db8::1]:8080:81")))
        #expect(try !p("127.0.0.1:8080:80").clashes(with: p("[::]:8080:81")))
        #expect(try !p("[::]:8080:80").clashes(with: p("[::]:8080:80/udp")))
        #expect(try p("[::]:8080:80").hostSide == "[::]:8080" && p("8080:80").hostSide == "0.0.0.0:8080")
    }

    @Test func anIPv6HostAddressPublishesOnIPv6Only() throws {
        let plan = FirewallPlan(networks: [FirewallTests.networks[0]], published: [
            .init(containerID: "aaaa", mappings: [try PortMapping(parsing: "[::]:8080:80"), try PortMapping(parsing: "[2001:db8::1]:8443:443")],
                  destination: IPv4Address("10.88.0.2")!, destination6: IPv6Address("fd00:88::2")),
            // A container without IPv6 gets nothing from it (the network refuses it before).
            .init(containerID: "bbbb", mappings: [try PortMapping(parsing: "[::]:9090:90")], destination: IPv4Address("10.88.0.3")!),
        ])
        #expect(FirewallIPv6Tests.rules(plan, "ports-aaaa") == [
            "meta l4proto tcp th dport 8080 dnat ip6 to [fd00:88::2]:80",
            "ip6 daddr 2001:db8::1 meta l4proto tcp th dport 8443 dnat ip6 to [fd00:88::2]:443",
        ])
        #expect(FirewallIPv6Tests.rules(plan, "ports-bbbb").isEmpty)
    }
}

