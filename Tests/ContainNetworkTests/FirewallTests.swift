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
            "prerouting: fib daddr type local jump ports",
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

    @Test func batchReplacesTheTableInOneTransaction() {
        let plan = FirewallPlan(networks: Self.networks)
        let batch = NftablesBatch.replace(with: plan, firstSequence: 500)
        let messages = NetlinkMessage.split(batch.bytes)
        func nft(_ t: nf_tables_msg_types) -> UInt16 { UInt16(NFNL_SUBSYS_NFTABLES) << 8 | UInt16(t.rawValue) }
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
    }

    @Test func interfaceNamesArePaddedToIfnamsiz() {
        #expect(Expressions.interfaceName("contain0") == Array("contain0".utf8) + Array(repeating: 0, count: 8))
        #expect(Expressions.interfaceName("contain0").count == 16)
    }

    @Test func emptyPlanDeletesTheTable() {
        let batch = NftablesBatch.deleteTable(firstSequence: 1)
        #expect(NetlinkMessage.split(batch.bytes).count == 3)
        #expect(batch.acknowledgements == 1)
    }
}

@Suite struct PortMappingTests {
    @Test(arguments: [
        ("8080:80", "8080:80/tcp"), ("53:53/udp", "53:53/udp"), ("198.51.100.1:8443:443/tcp", "198.51.100.1:8443:443/tcp"),
        ("1:65535", "1:65535/tcp"),
    ])
    func parses(text: String, canonical: String) throws {
        #expect(try PortMapping(parsing: text).description == canonical)
    }

    @Test(arguments: ["80", "0:80", "8080:0", "65536:80", "a:80", "8080:80/sctp", "1.2.3:8080:80", "8080:80:90:100", ":80", "8080:", "8080:80/", " 8080:80"])
    func rejects(text: String) {
        #expect(throws: NetworkError.invalid("invalid -p `\(text)`: expected [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp], e.g. 8080:80")) {
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
            .init(mapping: try PortMapping(parsing: "8080:80"), destination: IPv4Address("10.88.0.2")!),
            .init(mapping: try PortMapping(parsing: "192.0.2.1:5353:53/udp"), destination: IPv4Address("10.88.0.3")!),
        ])
        let ports = plan.rules.filter { $0.chain == "ports" }.map(\.description)
        #expect(ports == ["meta l4proto tcp th dport 8080 dnat to 10.88.0.2:80",
                          "ip daddr 192.0.2.1 meta l4proto udp th dport 5353 dnat to 10.88.0.3:53"])
        #expect(plan.rules.contains { $0.chain == "prerouting" && $0.description == "fib daddr type local jump ports" })
        #expect(plan.rules.contains { $0.chain == "output" && $0.description == "fib daddr type local jump ports" })
        #expect(NetlinkMessage.split(NftablesBatch.replace(with: plan, firstSequence: 1).bytes).count == 4 + plan.chains.count + plan.rules.count + 1)
    }

    @Test func leasesKeepTheirPorts() throws {
        var table = LeaseTable()
        _ = try table.allocate(Lease(address: IPv4Address(0), containerID: "a", owner: LeaseTableTests.alive, hostInterface: "veth",
                                     ports: [try PortMapping(parsing: "8080:80"), try PortMapping(parsing: "53:53/udp")]),
                               subnet: try IPv4Network(parsing: "10.88.0.0/24"), gateway: IPv4Address("10.88.0.1")!)
        #expect(table.serialized.hasSuffix("\t8080:80/tcp,53:53/udp\t-\n"))
        #expect(try LeaseTable(parsing: table.serialized) == table)
    }
}
