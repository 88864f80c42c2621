import Testing
@testable import ContainNetwork

@Suite struct NetworkDefinitionTests {
    @Test func defaultsGatewayToTheFirstHost() throws {
        let d = try NetworkDefinition(name: "lab", bridge: "ct-lab", subnet: try IPv4Network(parsing: "10.89.0.0/24"))
        #expect(d.gateway.description == "10.89.0.1")
        #expect(try NetworkDefinition(parsing: d.serialized) == d)
    }

    @Test func roundTripsEveryField() throws {
        let d = try NetworkDefinition(name: "iso", bridge: "br-iso", subnet: try IPv4Network(parsing: "192.168.50.0/26"),
                                      gateway: IPv4Address("192.168.50.62"), mtu: 1400, internal: true)
        #expect(d.serialized == "name=iso\nbridge=br-iso\nsubnet=192.168.50.0/26\ngateway=192.168.50.62\nmtu=1400\ninternal=true\n")
        #expect(try NetworkDefinition(parsing: d.serialized) == d)
    }

    @Test func dualStackDefaultsGateway6ToTheFirstHost() throws {
        let d = try NetworkDefinition(name: "lab", bridge: "ct-lab", subnet: try IPv4Network(parsing: "10.89.0.0/24"),
                                      subnet6: try IPv6Network(parsing: "fd12:3456:789a::/64"))
        #expect(d.gateway6?.description == "fd12:3456:789a::1")
        #expect(d.serialized == "name=lab\nbridge=ct-lab\nsubnet=10.89.0.0/24\ngateway=10.89.0.1\n"
                + "subnet6=fd12:3456:789a::/64\ngateway6=fd12:3456:789a::1\ninternal=false\n")
        #expect(try NetworkDefinition(parsing: d.serialized) == d)
    }

    @Test func roundTripsEveryFieldOfADualStackNetwork() throws {
        let d = try NetworkDefinition(name: "iso", bridge: "br-iso", subnet: try IPv4Network(parsing: "192.168.50.0/26"),
                                      gateway: IPv4Address("192.168.50.62"), mtu: 1400, internal: true,
                                      subnet6: try IPv6Network(parsing: "2001:db8:50::/64"), gateway6: IPv6Address("2001:db8:50::fe"))
        #expect(d.serialized == "name=iso\nbridge=br-iso\nsubnet=192.168.50.0/26\ngateway=192.168.50.62\n"
                + "subnet6=2001:db8:50::/64\ngateway6=2001:db8:50::fe\nmtu=1400\ninternal=true\n")
        #expect(try NetworkDefinition(parsing: d.serialized) == d)
    }

    @Test func ipv4OnlyNetworksHaveNoIPv6() throws {
        let text = "name=iso\nbridge=br-iso\nsubnet=192.168.50.0/26\ngateway=192.168.50.62\nmtu=1400\ninternal=true\n"
        let d = try NetworkDefinition(parsing: text)
        #expect(d.subnet6 == nil && d.gateway6 == nil)
        #expect(d.serialized == text)
    }

    @Test func rejectsABadIPv6Gateway() throws {
        let subnet = try IPv4Network(parsing: "10.89.0.0/24")
        let subnet6 = try IPv6Network(parsing: "fd00:1::/64")
        #expect(throws: NetworkError.invalid("gateway fd00:2::1 is not a usable address in fd00:1::/64")) {
            try NetworkDefinition(name: "x", bridge: "ct-x", subnet: subnet, subnet6: subnet6, gateway6: IPv6Address("fd00:2::1"))
        }
        #expect(throws: NetworkError.invalid("gateway fd00:1:: is not a usable address in fd00:1::/64")) {
            try NetworkDefinition(name: "x", bridge: "ct-x", subnet: subnet, subnet6: subnet6, gateway6: IPv6Address("fd00:1::"))
        }
        #expect(throws: NetworkError.invalid("gateway fd00:1::1 needs an IPv6 subnet")) {
            try NetworkDefinition(name: "x", bridge: "ct-x", subnet: subnet, gateway6: IPv6Address("fd00:1::1"))
        }
        let base = "name=x\nbridge=ct-x\nsubnet=10.89.0.0/24\ngateway=10.89.0.1\n"
        #expect(throws: NetworkError.invalid("network file: invalid gateway6 `fd00::1::2`")) {
            try NetworkDefinition(parsing: base + "subnet6=fd00:1::/64\ngateway6=fd00::1::2\n")
        }
        #expect(throws: NetworkError.self) { try NetworkDefinition(parsing: base + "subnet6=fd00:1::1/64\n") }
        #expect(try NetworkDefinition(parsing: base + "subnet6=fd00:1::/64\n").gateway6 == IPv6Address("fd00:1::1"))
    }

    @Test func rejectsAGatewayOutsideTheSubnet() {
        #expect(throws: NetworkError.invalid("gateway 10.90.0.1 is not a usable address in 10.89.0.0/24")) {
            try NetworkDefinition(name: "x", bridge: "ct-x", subnet: try IPv4Network(parsing: "10.89.0.0/24"), gateway: IPv4Address("10.90.0.1"))
        }
    }

    @Test(arguments: ["", "-lead", "has space", "sl/ash", "none", "host", "bridge", String(repeating: "n", count: 65)])
    func rejectsBadNames(name: String) {
        #expect(throws: NetworkError.self) { try NetworkDefinition.validateName(name) }
    }

    @Test(arguments: ["a-very-long-bridge0", "", "a/b", "a:b", "a b"])
    func rejectsBadBridgeNames(name: String) {
        #expect(throws: NetworkError.self) { try NetworkDefinition.validateInterfaceName(name, what: "bridge name") }
    }

    @Test func automaticBridgeNamesFitInFifteenBytes() {
        #expect(NetworkDefinition.automaticBridgeName(for: "contain") == "contain0")
        #expect(NetworkDefinition.automaticBridgeName(for: "lab") == "ct-lab")
        let long = NetworkDefinition.automaticBridgeName(for: "a-rather-long-network-name")
        #expect(long.utf8.count <= 15 && long.hasPrefix("ct-a-rathe"))
        #expect(long != NetworkDefinition.automaticBridgeName(for: "a-rather-long-network-other"))
    }

    @Test func picksTheFirstSubnetClearOfEverythingTaken() throws {
        #expect(NetworkDefinition.pickSubnet(avoiding: [])?.description == "10.88.0.0/24")
        let taken = [try IPv4Network(parsing: "10.88.0.0/24"), IPv4Network(network: IPv4Address("10.88.1.7")!, prefix: 32),
                     try IPv4Network(parsing: "10.88.2.0/23")]
        #expect(NetworkDefinition.pickSubnet(avoiding: taken)?.description == "10.88.4.0/24")
        #expect(NetworkDefinition.pickSubnet(avoiding: [try IPv4Network(parsing: "10.0.0.0/8")]) == nil)
    }
}

@Suite struct ContainerFilesTests {
    @Test func hostsListsItselfThenItsExtraEntries() {
        let text = ContainerFiles.hosts(hostname: "3f9c0a1b2c3d", name: "web", address: IPv4Address("10.88.0.2"), extra: [
            .init(name: "db", address: IPv4Address("192.0.2.4")!), .init(name: "cache", address: IPv4Address("192.0.2.3")!),
        ])
        #expect(text == """
            127.0.0.1\tlocalhost
            ::1\tlocalhost ip6-localhost ip6-loopback
            10.88.0.2\t3f9c0a1b2c3d web
            192.0.2.4\tdb
            192.0.2.3\tcache

            """)
    }

    @Test func loopbackResolversAreReplacedByTheUpstreams() {
        let host = "# managed by systemd-resolved\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lab.example\n"
        let upstream = "nameserver 192.0.2.53\nnameserver 192.0.2.54\n"
        #expect(ContainerFiles.resolvConf(host: host, upstream: upstream, dns: []) == """
            # generated by contain
            options edns0 trust-ad
            search lab.example
            nameserver 192.0.2.53
            nameserver 192.0.2.54

            """)
        #expect(!ContainerFiles.resolvConf(host: host, upstream: nil, dns: []).contains("nameserver"))
    }

    @Test func ipv6ResolversAreLeftOutOfAnIPv4Container() {
        let host = "nameserver 2001:db8::53\nnameserver 192.0.2.53\nnameserver fe80::1%eth0\n"
        #expect(ContainerFiles.resolvConf(host: host, upstream: nil, dns: []) == "# generated by contain\nnameserver 192.0.2.53\n")
        #expect(!ContainerFiles.resolvConf(host: "nameserver ::1\nnameserver 2001:db8::53\n", upstream: nil, dns: []).contains("nameserver"))
    }

    @Test func searchAndOptionsGivenReplaceTheHosts() {
        let host = "search host.example\noptions edns0\nnameserver 192.0.2.53\n"
        #expect(ContainerFiles.resolvConf(host: host, upstream: nil, dns: [], search: ["a.example", "b.example"], options: ["ndots:2"])
                == "# generated by contain\nsearch a.example b.example\noptions ndots:2\nnameserver 192.0.2.53\n")
        #expect(ContainerFiles.resolvConf(host: host, upstream: nil, dns: [], options: ["ndots:2"])
                == "# generated by contain\nsearch host.example\noptions ndots:2\nnameserver 192.0.2.53\n")
        #expect(ContainerFiles.hosts(hostname: "box", name: nil, address: nil, extra: [.init(name: "db", address: IPv4Address("192.0.2.7")!)])
                .hasSuffix("127.0.1.1\tbox\n192.0.2.7\tdb\n"))
    }

    @Test func explicitDNSWins() {
        let text = ContainerFiles.resolvConf(host: "nameserver 203.0.113.1\n", upstream: nil, dns: [IPv4Address("192.0.2.1")!])
        #expect(text == "# generated by contain\nnameserver 192.0.2.1\n")
        #expect(ContainerFiles.resolvConf(host: "nameserver 203.0.113.1\n", upstream: nil, dns: []).hasSuffix("nameserver 203.0.113.1\n"))
    }
}
