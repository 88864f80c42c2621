import Testing
@testable import ContainNetwork

@Suite struct AddressingTests {
    @Test(arguments: ["10.88.0.1", "0.0.0.0", "255.255.255.255", "192.0.2.10"])
    func parsesDottedQuads(text: String) {
        #expect(IPv4Address(text)?.description == text)
    }

    @Test(arguments: ["", "10.88.0", "10.88.0.1.2", "10.88.0.256", "010.1.1.1", "1.2.3.-4", "a.b.c.d", "10.88.0.1 ", "1..2.3"])
    func rejectsAnythingElse(text: String) {
        #expect(IPv4Address(text) == nil)
    }

    @Test func networkBytesAreBigEndian() {
        #expect(IPv4Address("10.88.1.2")!.bytes == [10, 88, 1, 2])
        #expect(IPv4Address(bytes: [192, 0, 2, 1]) == IPv4Address("192.0.2.1"))
    }

    @Test func subnetsKnowTheirHosts() throws {
        let n = try IPv4Network(parsing: "10.88.4.0/24")
        #expect(n.firstHost.description == "10.88.4.1")
        #expect(n.lastHost.description == "10.88.4.254")
        #expect(n.broadcast.description == "10.88.4.255")
        #expect(n.isHost(IPv4Address("10.88.4.9")!))
        #expect(!n.isHost(IPv4Address("10.88.4.0")!))
        #expect(!n.isHost(IPv4Address("10.88.4.255")!))
        #expect(!n.contains(IPv4Address("10.88.5.1")!))
    }

    @Test func overlapIsSymmetric() throws {
        let wide = try IPv4Network(parsing: "10.88.0.0/16")
        let narrow = try IPv4Network(parsing: "10.88.7.0/24")
        let apart = try IPv4Network(parsing: "10.89.0.0/24")
        #expect(wide.overlaps(narrow) && narrow.overlaps(wide))
        #expect(!wide.overlaps(apart) && !apart.overlaps(wide))
        #expect(try IPv4Network(parsing: "0.0.0.0/0").overlaps(apart))
    }

    @Test(arguments: [
        ("10.88.0.1/24", "host bits are set; did you mean 10.88.0.0/24?"),
        ("10.88.0.0/31", "too small"),
        ("10.88.0.0/33", "expected an IPv4 network"),
        ("10.88.0.0", "expected an IPv4 network"),
        ("10.88.0.0/-1", "expected an IPv4 network"),
        ("fd00::/64", "expected an IPv4 network"),
    ])
    func rejectsBadSubnets(text: String, reason: String) {
        #expect {
            _ = try IPv4Network(parsing: text)
        } throws: { error in
            "\(error)".contains(reason) && "\(error)".contains(text)
        }
    }
}

@Suite struct IPv6AddressingTests {
    /// Text in, RFC 5952 text out. IPv4-mapped addresses print in dotted form (RFC 5952
    /// section 5, and what glibc's inet_ntop prints); other embedded IPv4 suffixes print as hex.
    @Test(arguments: [
        ("2001:db8::1", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),             // the first of two equal runs
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:DB8::A:b", "2001:db8::a:b"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),           // one zero group stays
        ("2001:db8::1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),            // even when given as ::
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),                    // the longest run wins
        ("::", "::"), ("::1", "::1"), ("fe80::", "fe80::"), ("1::", "1::"),
        ("0:0:0:0:0:0:0:0", "::"),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
        ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("::FFFF:c000:201", "::ffff:192.0.2.1"),
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
        ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
    ])
    func parsesAndFormatsCanonically(text: String, canonical: String) throws {
        let address = try #require(IPv6Address(text))
        #expect(address.description == canonical)
        #expect(IPv6Address(canonical) == address)
    }

    @Test(arguments: [
        "", ":", ":::", "1:::2", "1::2::3", "::1::", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "1:", ":1", ":1::", "1::2:", "g::1", "fe80::1%eth0", " ::1", "::1 ",
        "1.2.3.4", "::1.2.3", "::1.2.3.4:5", "1.2.3.4::", "::256.1.1.1", "1:2:3:4:5:6:7:1.2.3.4", "::-1", "::+1", "::１",
    ])
    func rejectsMalformedText(text: String) {
        #expect(IPv6Address(text) == nil)
    }

    @Test func bytesAndHalvesAgree() throws {
        let address = try #require(IPv6Address("2001:db8::ff00:42:8329"))
        #expect(address.bytes == [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0xff, 0x00, 0x00, 0x42, 0x83, 0x29])
        #expect(address.high == 0x2001_0db8_0000_0000 && address.low == 0x0000_ff00_0042_8329)
        #expect(IPv6Address(high: address.high, low: address.low) == address)
        #expect(IPv6Address(bytes: address.bytes) == address)
        #expect(IPv6Address(bytes: [UInt8](repeating: 0, count: 15)) == nil)
        #expect(IPv6Address(bytes: [UInt8](repeating: 0, count: 17)) == nil)
        #expect(IPv6Address("::1")! < IPv6Address("::2")! && IPv6Address("::ffff")! < IPv6Address("1::")!)
    }

    @Test func knowsItsKinds() {
        #expect(IPv6Address("::1")!.isLoopback && !IPv6Address("::")!.isLoopback)
        #expect(IPv6Address("fe80::1")!.isLinkLocal && IPv6Address("febf::1")!.isLinkLocal && !IPv6Address("fec0::1")!.isLinkLocal)
        #expect(IPv6Address("fd12:3456::1")!.isUniqueLocal && IPv6Address("fc00::")!.isUniqueLocal)
        #expect(!IPv6Address("fe00::1")!.isUniqueLocal && !IPv6Address("2001:db8::1")!.isUniqueLocal)
        #expect(IPv6Address("ff02::1")!.isMulticast && !IPv6Address("fe80::1")!.isMulticast)
    }

    @Test func subnetsKnowTheirHosts() throws {
        let n = try IPv6Network(parsing: "fd00:1::/64")
        #expect(n.description == "fd00:1::/64")
        #expect(n.firstHost.description == "fd00:1::1")
        #expect(n.host(2)?.description == "fd00:1::2")
        #expect(n.host(0x1_0000_0000)?.description == "fd00:1::1:0:0")
        #expect(n.host(UInt64.max)?.description == "fd00:1::ffff:ffff:ffff:ffff")
        #expect(n.host(0) == nil)
        #expect(n.isHost(IPv6Address("fd00:1::9")!) && n.isHost(IPv6Address("fd00:1::ffff:ffff:ffff:ffff")!))
        #expect(!n.isHost(IPv6Address("fd00:1::")!))
        #expect(!n.contains(IPv6Address("fd00:2::1")!))

        let small = try IPv6Network(parsing: "2001:db8::100/120")
        #expect(small.host(255)?.description == "2001:db8::1ff")
        #expect(small.host(256) == nil)
        // A carry into the high half leaves the subnet; past the end of the address space is nil.
        #expect(try IPv6Network(parsing: "2001:db8::/32").host(UInt64.max)?.description == "2001:db8::ffff:ffff:ffff:ffff")
        #expect(try IPv6Network(parsing: "2001:db8::ffff:ffff:ffff:ff00/120").host(256) == nil)
        #expect(try IPv6Network(parsing: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120").host(255)?.description
                == "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
        #expect(try IPv6Network(parsing: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120").host(256) == nil)
        // Host bits are masked off by the memberwise initializer, as for IPv4.
        #expect(IPv6Network(network: IPv6Address("fd00:1::77")!, prefix: 64).description == "fd00:1::/64")
        #expect(IPv6Network(network: IPv6Address("fd00:1:2:3:4:5:6:7")!, prefix: 0).description == "::/0")
        #expect(IPv6Network(network: IPv6Address("fd00:1:2:3:4:5:6:7")!, prefix: 128).description == "fd00:1:2:3:4:5:6:7/128")
        #expect(IPv6Network(network: IPv6Address("fd00:1:2:3:4:5:6:7")!, prefix: 65).description == "fd00:1:2:3::/65")
    }

    @Test func overlapIsSymmetric() throws {
        let wide = try IPv6Network(parsing: "fd00::/8")
        let narrow = try IPv6Network(parsing: "fd12:3456:789a::/64")
        let apart = try IPv6Network(parsing: "2001:db8::/32")
        #expect(wide.overlaps(narrow) && narrow.overlaps(wide))
        #expect(!wide.overlaps(apart) && !apart.overlaps(wide))
        #expect(try IPv6Network(parsing: "::/0").overlaps(apart))
        let host = IPv6Network(network: IPv6Address("fd12:3456:789a::5")!, prefix: 128)
        #expect(host.overlaps(narrow) && narrow.overlaps(host))
        #expect(!host.overlaps(try IPv6Network(parsing: "fd12:3456:789a:1::/64")))
        #expect(try IPv6Network(parsing: "2001:db8::/64").overlaps(try IPv6Network(parsing: "2001:db8::/96")))
        #expect(!(try IPv6Network(parsing: "2001:db8::/96")).overlaps(try IPv6Network(parsing: "2001:db8::1:0:0/96")))
    }

    @Test(arguments: [
        ("fd00:1::1/64", "host bits are set; did you mean fd00:1::/64?"),
        ("2001:db8::100/56", "host bits are set; did you mean 2001:db8::/56?"),
        ("fd00::/121", "too small for a gateway and containers (at most /120)"),
        ("fd00::/128", "too small"),
        ("fd00::/129", "expected an IPv6 network such as fd00:1::/64"),
        ("fd00::", "expected an IPv6 network"),
        ("fd00::/", "expected an IPv6 network"),
        ("fd00::/-1", "expected an IPv6 network"),
        ("fd00::/64/64", "expected an IPv6 network"),
        ("fd00::1%eth0/64", "expected an IPv6 network"),
        ("10.88.0.0/16", "expected an IPv6 network"),
    ])
    func rejectsBadSubnets(text: String, reason: String) {
        #expect {
            _ = try IPv6Network(parsing: text)
        } throws: { error in
            "\(error)".contains(reason) && "\(error)".contains("invalid subnet `\(text)`")
        }
    }

    @Test func acceptsTheWholeRangeOfPrefixes() throws {
        #expect(try IPv6Network(parsing: "::/0").description == "::/0")
        #expect(try IPv6Network(parsing: "fd00::100/120").description == "fd00::100/120")
        #expect(try IPv6Network(parsing: "FD00:0001::/64").description == "fd00:1::/64")
    }

    /// A generator that hands out the given global IDs in turn and counts its calls.
    final class FixedRandom {
        var ids: [[UInt8]]
        var calls = 0
        init(_ ids: [[UInt8]]) { self.ids = ids }
        func fill(_ bytes: inout [UInt8]) {
            let id = ids[min(calls, ids.count - 1)]
            calls += 1
            for i in bytes.indices { bytes[i] = id[i % id.count] }
        }
    }

    @Test func picksAUniqueLocalSlash64() throws {
        let random = FixedRandom([[0x12, 0x34, 0x56, 0x78, 0x9a]])
        let picked = try #require(IPv6Network.pickUniqueLocal(avoiding: [], random: random.fill))
        #expect(picked.description == "fd12:3456:789a::/64")
        #expect(picked.prefix == 64 && picked.network.isUniqueLocal && picked.network.bytes[0] == 0xfd)
        #expect(random.calls == 1)
    }

    @Test func drawsAgainWhenTheGlobalIDIsTaken() throws {
        let taken = [try IPv6Network(parsing: "fd12:3456:789a::/48"), try IPv6Network(parsing: "2001:db8::/32")]
        let random = FixedRandom([[0x12, 0x34, 0x56, 0x78, 0x9a], [0x12, 0x34, 0x56, 0x78, 0x9a], [0xab, 0xcd, 0xef, 0x01, 0x23]])
        #expect(IPv6Network.pickUniqueLocal(avoiding: taken, random: random.fill)?.description == "fdab:cdef:123::/64")
        #expect(random.calls == 3)
    }

    @Test func givesUpAfterABoundedNumberOfDraws() throws {
        let random = FixedRandom([[0x12, 0x34, 0x56, 0x78, 0x9a]])
        #expect(IPv6Network.pickUniqueLocal(avoiding: [try IPv6Network(parsing: "fd12:3456:789a::/64")], random: random.fill) == nil)
        #expect(random.calls == IPv6Network.uniqueLocalAttempts)
        let everything = FixedRandom([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]])
        #expect(IPv6Network.pickUniqueLocal(avoiding: [try IPv6Network(parsing: "fc00::/7")], random: everything.fill) == nil)
    }

    @Test func theSystemGeneratorFillsTheBuffer() throws {
        let picked = try #require(IPv6Network.pickUniqueLocal(avoiding: []))
        #expect(picked.prefix == 64 && picked.network.bytes[0] == 0xfd && picked.network.bytes[6...].allSatisfy { $0 == 0 })
        var a = [UInt8](repeating: 0, count: 32), b = a
        IPv6Network.systemRandom(&a)
        IPv6Network.systemRandom(&b)
        #expect(a != b)
    }
}
