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
        #expect(plan.chains.map(\.name) == ["postrouting", "forward", "net-contain", "net-iso"])
        #expect(plan.chains.map(\.hook) == [.postrouting, .forward, nil, nil])
        #expect(plan.rules.map { "\($0.chain): \($0)" } == [
            "postrouting: ip saddr 10.88.0.0/24 oifname != \"contain0\" masquerade",
            "forward: jump net-contain",
            "net-contain: iifname \"contain0\" oifname \"contain0\" accept",
            "net-contain: oifname \"contain0\" ct state established,related accept",
            "net-contain: oifname \"contain0\" drop",
            "net-contain: iifname \"contain0\" accept",
            "forward: jump net-iso",
            "net-iso: iifname \"ct-iso\" oifname \"ct-iso\" accept",
            "net-iso: oifname \"ct-iso\" ct state established,related accept",
            "net-iso: oifname \"ct-iso\" drop",
            "net-iso: iifname \"ct-iso\" drop",
        ])
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
