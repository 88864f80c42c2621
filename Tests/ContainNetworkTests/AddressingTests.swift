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
