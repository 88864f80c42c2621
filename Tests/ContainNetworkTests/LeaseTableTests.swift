import ContainSystem
import Testing
@testable import ContainNetwork

@Suite struct LeaseTableTests {
    static let subnet = try! IPv4Network(parsing: "10.88.0.0/29")   // hosts .1 to .6
    static let gateway = IPv4Address("10.88.0.1")!
    static let alive = ProcessIdentity(pid: 100, startTime: 5)
    static let dead = ProcessIdentity(pid: 200, startTime: 7)

    static func lease(_ id: String, name: String? = nil, owner: ProcessIdentity = alive) -> Lease {
        Lease(address: IPv4Address(0), containerID: id, owner: owner, hostInterface: "veth" + id, name: name)
    }

    @Test func allocatesLowestFreeAddressSkippingTheGateway() throws {
        var table = LeaseTable()
        #expect(try table.allocate(Self.lease("a"), subnet: Self.subnet, gateway: Self.gateway).description == "10.88.0.2")
        #expect(try table.allocate(Self.lease("b"), subnet: Self.subnet, gateway: Self.gateway).description == "10.88.0.3")
        table.release(containerID: "a")
        #expect(try table.allocate(Self.lease("c"), subnet: Self.subnet, gateway: Self.gateway).description == "10.88.0.2")
    }

    @Test func gatewayElsewhereLeavesTheFirstHostFree() throws {
        var table = LeaseTable()
        let address = try table.allocate(Self.lease("a"), subnet: Self.subnet, gateway: IPv4Address("10.88.0.6")!)
        #expect(address.description == "10.88.0.1")
    }

    @Test func exhaustionIsAnErrorAndReleaseFreesRoom() throws {
        var table = LeaseTable()
        for id in ["a", "b", "c", "d", "e"] {
            _ = try table.allocate(Self.lease(id), subnet: Self.subnet, gateway: Self.gateway)
        }
        #expect(throws: NetworkError.exhausted("no free address left in 10.88.0.0/29")) {
            try table.allocate(Self.lease("f"), subnet: Self.subnet, gateway: Self.gateway)
        }
        #expect(table.release(containerID: "c")?.address.description == "10.88.0.4")
        #expect(try table.allocate(Self.lease("f"), subnet: Self.subnet, gateway: Self.gateway).description == "10.88.0.4")
    }

    @Test func requestedAddressesAreCheckedAgainstSubnetGatewayAndLeases() throws {
        var table = LeaseTable()
        #expect(try table.allocate(Self.lease("a"), subnet: Self.subnet, gateway: Self.gateway,
                                   requested: IPv4Address("10.88.0.5")).description == "10.88.0.5")
        #expect(throws: NetworkError.conflict("address 10.88.0.5 is already leased")) {
            try table.allocate(Self.lease("b"), subnet: Self.subnet, gateway: Self.gateway, requested: IPv4Address("10.88.0.5"))
        }
        #expect(throws: NetworkError.conflict("address 10.88.0.1 is the network's gateway")) {
            try table.allocate(Self.lease("b"), subnet: Self.subnet, gateway: Self.gateway, requested: Self.gateway)
        }
        #expect(throws: NetworkError.invalid("address 10.88.0.7 is not a usable address in 10.88.0.0/29")) {
            try table.allocate(Self.lease("b"), subnet: Self.subnet, gateway: Self.gateway, requested: IPv4Address("10.88.0.7"))
        }
        #expect(table.leases.count == 1)
    }

    @Test func namesAreUniqueOnANetwork() throws {
        var table = LeaseTable()
        _ = try table.allocate(Self.lease("a", name: "web"), subnet: Self.subnet, gateway: Self.gateway)
        #expect(throws: NetworkError.conflict("the name `web` is already in use on this network")) {
            try table.allocate(Self.lease("b", name: "web"), subnet: Self.subnet, gateway: Self.gateway)
        }
    }

    @Test func deadOwnersAreReclaimed() throws {
        var table = LeaseTable()
        _ = try table.allocate(Self.lease("a", owner: Self.dead), subnet: Self.subnet, gateway: Self.gateway)
        _ = try table.allocate(Self.lease("b"), subnet: Self.subnet, gateway: Self.gateway)
        let reclaimed = table.reclaim { $0 == Self.alive }
        #expect(reclaimed.map(\.containerID) == ["a"])
        #expect(table.leases.map(\.containerID) == ["b"])
        #expect(try table.allocate(Self.lease("c"), subnet: Self.subnet, gateway: Self.gateway).description == "10.88.0.2")
    }

    @Test func aReusedPidIsNotItsOwner() {
        // Same pid, another start time: a different process.
        let reused = ProcessIdentity(pid: ProcessIdentity.current().pid, startTime: ProcessIdentity.current().startTime + 1)
        #expect(ProcessIdentity.current().isAlive)
        #expect(!reused.isAlive)
    }

    @Test func startTimeIsFieldTwentyTwoEvenWithParenthesesInTheName() {
        let stat = "4242 (we (ird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10"
        #expect(ProcessIdentity.parseStartTime(stat: stat) == 987654)
        #expect(ProcessIdentity.parseStartTime(stat: "garbage") == nil)
    }

    @Test func dualStackLeasesAnIPv6AddressToo() throws {
        let subnet6 = try IPv6Network(parsing: "fd00:88::/64"), gateway6 = IPv6Address("fd00:88::1")!
        var table = LeaseTable()
        _ = try table.allocate(Self.lease("a"), subnet: Self.subnet, gateway: Self.gateway, subnet6: (subnet6, gateway6))
        _ = try table.allocate(Self.lease("b"), subnet: Self.subnet, gateway: Self.gateway, subnet6: (subnet6, gateway6),
                               requested6: IPv6Address("fd00:88::2:1"))
        _ = try table.allocate(Self.lease("c"), subnet: Self.subnet, gateway: Self.gateway, subnet6: (subnet6, gateway6))
        #expect(table.leases.map { $0.address6?.description } == ["fd00:88::2", "fd00:88::2:1", "fd00:88::3"])
        #expect(throws: NetworkError.conflict("address fd00:88::2 is already leased")) {
            try table.allocate(Self.lease("d"), subnet: Self.subnet, gateway: Self.gateway, subnet6: (subnet6, gateway6),
                               requested6: IPv6Address("fd00:88::2"))
        }
        #expect(throws: NetworkError.invalid("address fd00:99::2 is not a usable address in fd00:88::/64")) {
            try table.allocate(Self.lease("d"), subnet: Self.subnet, gateway: Self.gateway, subnet6: (subnet6, gateway6),
                               requested6: IPv6Address("fd00:99::2"))
        }
        #expect(throws: NetworkError.conflict("address fd00:88::1 is the network's gateway")) {
            try table.allocate(Self.lease("d"), subnet: Self.subnet, gateway: Self.gateway, subnet6: (subnet6, gateway6),
                               requested6: gateway6)
        }
        #expect(throws: NetworkError.invalid("--ip6 fd00:88::9: the network has no IPv6 subnet")) {
            try table.allocate(Self.lease("d"), subnet: Self.subnet, gateway: Self.gateway, requested6: IPv6Address("fd00:88::9"))
        }
        // None of the failures took an address.
        #expect(table.leases.count == 3)
        let text = table.serialized
        #expect(text.hasSuffix("\t-\tfd00:88::3\t-\n"), "\(text)")
        #expect(try LeaseTable(parsing: text) == table)
        #expect(throws: NetworkError.self) { try LeaseTable(parsing: "10.88.0.2\ta\t100@5\tvetha\t-\ta\t-\t-\t-\t-\tnot-an-address\n") }
    }

    @Test func aGivenMACAddressIsUniqueOnItsNetworkAndKept() throws {
        var table = LeaseTable()
        _ = try table.allocate(Self.lease("a"), subnet: Self.subnet, gateway: Self.gateway)   // 02:42:0a:58:00:02
        var b = Self.lease("b")
        b.mac = MACAddress.parse("92:d0:c6:0a:29:33")
        _ = try table.allocate(b, subnet: Self.subnet, gateway: Self.gateway)
        var c = Self.lease("c")
        c.mac = MACAddress.parse("02:42:0a:58:00:02")
        #expect(throws: NetworkError.conflict("MAC address 02:42:0a:58:00:02 is already used on this network by container a")) {
            try table.allocate(c, subnet: Self.subnet, gateway: Self.gateway)
        }
        c.mac = MACAddress.parse("02:42:0a:58:00:01")
        #expect(throws: NetworkError.conflict("MAC address 02:42:0a:58:00:01 is the network's bridge's")) {
            try table.allocate(c, subnet: Self.subnet, gateway: Self.gateway)
        }
        #expect(table.serialized.contains("\t92:d0:c6:0a:29:33\n"))
        #expect(try LeaseTable(parsing: table.serialized) == table)
        #expect(MACAddress.parse("92-D0-C6-0A-29-33") == [0x92, 0xd0, 0xc6, 0x0a, 0x29, 0x33])
        for bad in ["92:d0:c6:0a:29", "92:d0:c6:0a:29:3g", "929:d0:c6:0a:29:33", ""] { #expect(MACAddress.parse(bad) == nil, "\(bad)") }
        #expect(throws: NetworkError.self) { try MACAddress.validateForInterface("01:00:5e:00:00:01") }   // multicast
        #expect(throws: NetworkError.self) { try MACAddress.validateForInterface("00:00:00:00:00:00") }
    }

    @Test func fileFormatRoundTrips() throws {
        var table = LeaseTable()
        _ = try table.allocate(Self.lease("a", name: "web"), subnet: Self.subnet, gateway: Self.gateway)
        _ = try table.allocate(Lease(address: IPv4Address(0), containerID: "b", owner: Self.dead, hostInterface: "vethb",
                                     ports: [try PortMapping(parsing: "8080:80")], aliases: ["www", "api"]),
                               subnet: Self.subnet, gateway: Self.gateway)
        let text = table.serialized
        #expect(text.contains("10.88.0.2\ta\t100@5\tvetha\tweb\tweb\t-\t-\t-\t-\t-\t-\n"))
        #expect(text.contains("10.88.0.3\tb\t200@7\tvethb\t-\tb\t-\t8080:80/tcp\t-\twww,api\t-\t-\n"))
        #expect(try LeaseTable(parsing: text) == table)
        // Files from before aliases (8 or 9 fields, a hosts file and extra hosts in 7 and 9,
        // no longer used) still read.
        let old = try LeaseTable(parsing: "10.88.0.2\ta\t100@5\tvetha\tweb\tweb\t/run/x/hosts\t-\n"
                                   + "10.88.0.3\tb\t100@5\tvethb\t-\tb\t-\t-\tdb=192.0.2.7\n")
        #expect(old.leases.map(\.name) == ["web", nil])
        #expect(old.leases.allSatisfy { $0.aliases.isEmpty })
        #expect(throws: NetworkError.self) { try LeaseTable(parsing: "10.88.0.2\tonly-two-fields\n") }
    }
}
