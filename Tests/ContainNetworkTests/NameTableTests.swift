import ContainSystem
import Testing
@testable import ContainNetwork

/// What the name server answers whom: pure, from networks and leases.
@Suite struct NameTableTests {
    static let owner = ProcessIdentity(pid: 1, startTime: 1)

    static func network(_ name: String, _ subnet: String, internal: Bool = false) -> NetworkDefinition {
        try! NetworkDefinition(name: name, bridge: "ct-" + name, subnet: try! IPv4Network(parsing: subnet), internal: `internal`)
    }

    static func lease(_ id: String, _ address: String, name: String? = nil, aliases: [String] = [], address6: String? = nil) -> Lease {
        Lease(address: IPv4Address(address)!, containerID: id, owner: owner, hostInterface: "veth" + id.prefix(8), name: name, aliases: aliases,
              address6: address6.flatMap(IPv6Address.init))
    }

    static let webID = "3f9c0a1b2c3d4e5f3f9c0a1b2c3d4e5f3f9c0a1b2c3d4e5f3f9c0a1b2c3d4e5f"

    /// left: web, router (10.1.0.9), client; right: router (10.2.0.9), db; iso (internal): router? no: lone.
    static let table = NameTable(networks: [
        (network("left", "10.1.0.0/24"), [lease(webID, "10.1.0.2", name: "web", aliases: ["www", "Shared"]),
                                          lease("r0000000000000", "10.1.0.9", name: "router"),
                                          lease("c0000000000000", "10.1.0.3")]),
        (network("right", "10.2.0.0/24"), [lease("r0000000000000", "10.2.0.9", name: "router", aliases: ["shared"], address6: "fd00:2::9"),
                                           lease("d0000000000000", "10.2.0.4", name: "db")]),
        (network("iso", "10.3.0.0/24", internal: true), [lease("i0000000000000", "10.3.0.2", name: "lone"),
                                                         lease("j0000000000000", "10.3.0.3", name: "other")]),
    ])

    static func ask(_ name: String, _ type: UInt16 = DNSType.a, from: String) -> NameTable.Resolution {
        table.resolve(DNSQuestion(name: DNSName(name)!, type: type, qclass: 1), from: IPv4Address(from)!)
    }

    static func a(_ addresses: String...) -> NameTable.Resolution { .answers(addresses.map { .a(IPv4Address($0)!) }) }

    @Test func namesAliasesAndIdsCaseInsensitively() {
        #expect(Self.ask("web", from: "10.1.0.3") == Self.a("10.1.0.2"))
        #expect(Self.ask("WWW.", from: "10.1.0.3") == Self.a("10.1.0.2"))
        #expect(Self.ask(String(Self.webID.prefix(12)), from: "10.1.0.3") == Self.a("10.1.0.2"))
        // (The full id, 64 characters, is longer than a DNS label can be.)
        #expect(DNSName(Self.webID) == nil)
        // Its own name too.
        #expect(Self.ask("web", from: "10.1.0.2") == Self.a("10.1.0.2"))
    }

    @Test func onlyTheNetworksTheAskerIsOnEachAtItsSharedAddress() {
        #expect(Self.ask("router", from: "10.1.0.3") == Self.a("10.1.0.9"))
        #expect(Self.ask("router", from: "10.2.0.4") == Self.a("10.2.0.9"))
        #expect(Self.ask("db", from: "10.1.0.3") == .forward)
        // The router sees both; a name on both networks answers both addresses.
        #expect(Self.ask("db", from: "10.1.0.9") == Self.a("10.2.0.4"))
        #expect(Self.ask("router", from: "10.2.0.9") == Self.a("10.1.0.9", "10.2.0.9"))
        // An alias two containers share: both (each on its own network, both seen by the router).
        #expect(Self.ask("shared", from: "10.1.0.9") == Self.a("10.1.0.2", "10.2.0.9"))
        #expect(Self.ask("shared", from: "10.1.0.3") == Self.a("10.1.0.2"))
    }

    @Test func aaaaAndIPv6PointersOnDualStackNetworks() {
        #expect(Self.ask("router", DNSType.aaaa, from: "10.2.0.4") == .answers([.aaaa(IPv6Address("fd00:2::9")!.bytes)]))
        // The left network has no IPv6: nothing to say, but the name exists.
        #expect(Self.ask("router", DNSType.aaaa, from: "10.1.0.3") == .noData)
        let reverse = DNSName.reverse(ipv6: IPv6Address("fd00:2::9")!.bytes)
        #expect(Self.ask(reverse.description, DNSType.ptr, from: "10.2.0.4") == .answers([.ptr(DNSName("router")!)]))
        #expect(Self.ask(reverse.description, DNSType.ptr, from: "10.1.0.3") == .forward)
        // Asked over IPv6: known by its IPv6 address.
        #expect(Self.table.resolve(DNSQuestion(name: DNSName("db")!, type: DNSType.a, qclass: 1), from: .v6(IPv6Address("fd00:2::9")!))
                == Self.a("10.2.0.4"))
    }

    @Test func otherTypesPointersAndStrangers() {
        #expect(Self.ask("web", DNSType.aaaa, from: "10.1.0.3") == .noData)
        #expect(Self.ask("web", 15, from: "10.1.0.3") == .noData)   // MX
        #expect(Self.ask("web", DNSType.any, from: "10.1.0.3") == Self.a("10.1.0.2"))
        #expect(Self.ask("2.0.1.10.in-addr.arpa", DNSType.ptr, from: "10.1.0.3") == .answers([.ptr(DNSName("web")!)]))
        // An unnamed member is known by its short id; an address of another network is not local.
        #expect(Self.ask("3.0.1.10.in-addr.arpa", DNSType.ptr, from: "10.1.0.2") == .answers([.ptr(DNSName("c00000000000")!)]))
        #expect(Self.ask("4.0.2.10.in-addr.arpa", DNSType.ptr, from: "10.1.0.3") == .forward)
        #expect(Self.ask("example.org", from: "10.1.0.3") == .forward)
        // Not a container: nothing at all; on internal networks only: no way out.
        #expect(Self.ask("web", from: "10.1.0.200") == .refused)
        #expect(Self.ask("other", from: "10.3.0.2") == Self.a("10.3.0.3"))
        #expect(Self.ask("example.org", from: "10.3.0.2") == .nameError)
    }

    /// The server's answer to raw bytes: never a crash, FORMERR for a bad question, NOTIMP for
    /// another opcode, nothing for a response.
    @Test func rawQueriesAreAnsweredOrDropped() {
        func query(_ id: UInt16, opcode: UInt8 = 0, name: [UInt8], qdcount: UInt8 = 1) -> [UInt8] {
            [UInt8(id >> 8), UInt8(id & 0xff), opcode << 3 | 1, 0, 0, qdcount, 0, 0, 0, 0, 0, 0] + name + [0, 1, 0, 1]
        }
        let web: [UInt8] = [3] + Array("web".utf8) + [0]
        func outcome(_ bytes: [UInt8]) -> NameServer.Outcome {
            NameServer.answer(bytes, from: .v4(IPv4Address("10.1.0.3")!), table: Self.table, maxSize: DNSMessage.udpLimit, canForward: true)
        }
        guard case .reply(let reply) = outcome(query(0x1234, name: web)) else { Issue.record("no reply"); return }
        #expect(reply.prefix(2) == [0x12, 0x34] && reply[3] & 0x0f == 0 && reply.suffix(4) == [10, 1, 0, 2])
        guard case .reply(let bad) = outcome(query(7, name: web, qdcount: 2)) else { Issue.record("no FORMERR"); return }
        #expect(bad.count == 12 && bad[3] & 0x0f == 1)
        guard case .reply(let notimp) = outcome(query(8, opcode: 2, name: web)) else { Issue.record("no NOTIMP"); return }
        #expect(notimp[3] & 0x0f == 4)
        var response = query(9, name: web)
        response[2] |= 0x80
        #expect(outcome(response) == .ignore)
        #expect(outcome([1, 2, 3]) == .ignore)
        guard case .forward(let q) = outcome(query(10, name: [7] + Array("example".utf8) + [3] + Array("org".utf8) + [0])) else {
            Issue.record("not forwarded"); return
        }
        #expect(q.id == 10)
        #expect(NameServer.answer(query(11, name: [7] + Array("example".utf8) + [0]), from: .v4(IPv4Address("10.1.0.3")!), table: Self.table,
                                  maxSize: DNSMessage.udpLimit, canForward: false) != .ignore)
    }

    @Test func upstreamsAreTheHostsWithLoopbackStubsReplacedOrKept() {
        let plain = NameServer.upstreams(resolvConf: "nameserver 192.0.2.53\nnameserver 2001:db8::53\n", systemd: nil, port: 53)
        #expect(plain.map(\.description) == ["192.0.2.53:53", "[2001:db8::53]:53"])
        // A link-local resolver needs its zone, which an address cannot carry: skipped.
        #expect(NameServer.upstreams(resolvConf: "nameserver fe80::1%eth0\n", systemd: nil, port: 53).isEmpty)
        let stub = NameServer.upstreams(resolvConf: "nameserver 127.0.0.53\n", systemd: "nameserver 198.51.100.53\n", port: 53)
        #expect(stub.map(\.description) == ["198.51.100.53:53"])
        // In the host's namespace a stub answers: it is asked when nothing else is known.
        let only = NameServer.upstreams(resolvConf: "nameserver 127.0.0.53\n", systemd: nil, port: 53)
        #expect(only.map(\.description) == ["127.0.0.53:53"])
    }
}
