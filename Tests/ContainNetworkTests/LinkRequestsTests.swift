import CLibmnl
import ContainSystem
import Glibc
import Testing
@testable import ContainNetwork

/// Records every request instead of talking to the kernel.
final class RecordingTransport: NetlinkTransport {
    var requests: [(bytes: [UInt8], operation: String)] = []
    var sequence: UInt32 = 100
    var failWith: Int32?

    func nextSequence() -> UInt32 { sequence += 1; return sequence }

    func execute(_ request: [UInt8], operation: String) throws -> [[UInt8]] {
        requests.append((request, operation))
        if let failWith { throw NetlinkFailure(operation: operation, errno: failWith) }
        return []
    }
}

struct NetlinkFailure: Error { let operation: String; let errno: Int32 }

@Suite struct LinkRequestsTests {
    @Test func setUpIsOneNewlinkWithIffUp() {
        let bytes = LinkRequests.setUp(index: 1, sequence: 0x0102_0304)
        // struct nlmsghdr: len 32, type RTM_NEWLINK (16), flags REQUEST|ACK (5), seq, pid 0
        // struct ifinfomsg: family AF_UNSPEC, pad, type 0, index 1, flags IFF_UP, change IFF_UP
        #expect(bytes == [
            32, 0, 0, 0, 16, 0, 5, 0, 4, 3, 2, 1, 0, 0, 0, 0,
            0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,
        ])
        let message = NetlinkMessage.split(bytes)
        #expect(message.count == 1)
        #expect(message.first?.type == UInt16(RTM_NEWLINK))
        #expect(message.first?.sequence == 0x0102_0304)
    }

    @Test func linksSendThroughTheTransport() throws {
        let transport = RecordingTransport()
        try Rtnetlink(transport: transport).setUp(index: Rtnetlink.loopbackIndex)
        #expect(transport.requests.count == 1)
        #expect(transport.requests[0].operation == "netlink: set link 1 up")
        #expect(transport.requests[0].bytes == LinkRequests.setUp(index: 1, sequence: 101))
    }

    @Test func splitsADatagramOfSeveralMessages() {
        var ack: [UInt8] = [36, 0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 9, 0, 0, 0]
        ack += [0xfe, 0xff, 0xff, 0xff]              // error -2 (ENOENT)
        ack += [UInt8](repeating: 0, count: 16)       // the original header
        let done: [UInt8] = [20, 0, 0, 0, 3, 0, 2, 0, 8, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0]
        let messages = NetlinkMessage.split(ack + done)
        #expect(messages.count == 2)
        #expect(messages[0].type == UInt16(NLMSG_ERROR))
        #expect(messages[0].errorCode == -ENOENT)
        #expect(messages[1].type == UInt16(NLMSG_DONE))
        #expect(messages[1].sequence == 8)
        #expect(NetlinkMessage.split([1, 2, 3]).isEmpty)
        #expect(NetlinkMessage.split([200, 0, 0, 0] + [UInt8](repeating: 0, count: 12)).isEmpty)
    }

    @Test func addressAddIsGolden() {
        // nlmsghdr: len 40, RTM_NEWADDR (20), REQUEST|ACK|EXCL|CREATE (0x605), seq 9, pid 0
        // ifaddrmsg: AF_INET, /24, flags 0, scope universe, index 7
        // IFA_LOCAL and IFA_ADDRESS: 10.88.0.2
        #expect(AddressRequests.add(index: 7, address: IPv4Address("10.88.0.2")!, prefix: 24, sequence: 9) == [
            40, 0, 0, 0, 20, 0, 0x05, 0x06, 9, 0, 0, 0, 0, 0, 0, 0,
            2, 24, 0, 0, 7, 0, 0, 0,
            8, 0, 2, 0, 10, 88, 0, 2,
            8, 0, 1, 0, 10, 88, 0, 2,
        ])
    }

    @Test func defaultRouteIsGolden() {
        // rtmsg: AF_INET, dst_len 0, src_len 0, tos 0, table main (254), proto boot (3),
        // scope universe (0), type unicast (1), flags 0; RTA_GATEWAY (5) 10.88.0.1
        #expect(RouteRequests.addDefault(gateway: IPv4Address("10.88.0.1")!, sequence: 9) == [
            36, 0, 0, 0, 24, 0, 0x05, 0x06, 9, 0, 0, 0, 0, 0, 0, 0,
            2, 0, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0,
            8, 0, 5, 0, 10, 88, 0, 1,
        ])
    }

    @Test func replacedRouteIsGolden() {
        // flags REQUEST|ACK|CREATE|REPLACE (0x505); rtmsg: AF_INET, dst_len 30, table main,
        // proto static (4), scope universe, unicast; RTA_DST (1) 10.0.23.0, RTA_GATEWAY (5) 10.0.12.2
        let destination = try? IPv4Network(parsing: "10.0.23.0/30")
        #expect(RouteRequests.replace(destination: destination, gateway: IPv4Address("10.0.12.2")!, sequence: 9) == [
            44, 0, 0, 0, 24, 0, 0x05, 0x05, 9, 0, 0, 0, 0, 0, 0, 0,
            2, 30, 0, 0, 254, 4, 0, 1, 0, 0, 0, 0,
            8, 0, 1, 0, 10, 0, 23, 0,
            8, 0, 5, 0, 10, 0, 12, 2,
        ])
        // The default route: no RTA_DST, dst_len 0.
        #expect(RouteRequests.replace(destination: nil, gateway: IPv4Address("10.91.2.1")!, sequence: 3) == [
            36, 0, 0, 0, 24, 0, 0x05, 0x05, 3, 0, 0, 0, 0, 0, 0, 0,
            2, 0, 0, 0, 254, 4, 0, 1, 0, 0, 0, 0,
            8, 0, 5, 0, 10, 91, 2, 1,
        ])
    }

    @Test func bridgeCreationIsGolden() {
        // ifinfomsg zeroed; IFLA_IFNAME (3) "br0\0";
        // IFLA_LINKINFO (18 | NLA_F_NESTED) { IFLA_INFO_KIND (1) "bridge\0" }
        #expect(LinkRequests.createBridge(name: "br0", mtu: nil, sequence: 1) == [
            56, 0, 0, 0, 16, 0, 0x05, 0x06, 1, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            8, 0, 3, 0, 98, 114, 48, 0,
            16, 0, 18, 0x80, 11, 0, 1, 0, 98, 114, 105, 100, 103, 101, 0, 0,
        ])
        // With its address: IFLA_ADDRESS (1), six bytes and two of padding, after the name.
        #expect(LinkRequests.createBridge(name: "br0", mtu: nil, mac: [2, 0x42, 10, 88, 0, 1], sequence: 1) == [
            68, 0, 0, 0, 16, 0, 0x05, 0x06, 1, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            8, 0, 3, 0, 98, 114, 48, 0,
            10, 0, 1, 0, 2, 0x42, 10, 88, 0, 1, 0, 0,
            16, 0, 18, 0x80, 11, 0, 1, 0, 98, 114, 105, 100, 103, 101, 0, 0,
        ])
    }

    @Test func vethPeerIsBornInTheContainersNamespace() throws {
        let bytes = LinkRequests.createVeth(name: "vethab", peerName: "eth0", peerNamespacePID: 4242, master: 3, mtu: 1400, sequence: 1)
        let message = try #require(NetlinkMessage.split(bytes).first)
        #expect(message.type == UInt16(RTM_NEWLINK))
        #expect(message.flags == UInt16(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL))
        // ifinfomsg: the host end is created up (ifi_flags and ifi_change IFF_UP).
        #expect(Array(bytes[24..<32]) == [1, 0, 0, 0, 1, 0, 0, 0])
        let attributes = bytes.withUnsafeBytes { raw in
            Replies.attributes(UnsafeMutableRawPointer(mutating: raw.baseAddress!).assumingMemoryBound(to: nlmsghdr.self),
                               headerSize: MemoryLayout<ifinfomsg>.size)
        }
        #expect(attributes.map(\.0) == [UInt16(IFLA_IFNAME), UInt16(IFLA_MTU), UInt16(IFLA_MASTER), UInt16(IFLA_LINKINFO)])
        #expect(attributes[0].1 == Array("vethab\0".utf8))
        #expect(attributes[2].1 == [3, 0, 0, 0])
        // LINKINFO { KIND "veth", DATA { PEER { ifinfomsg, IFNAME "eth0", MTU 1400, NET_NS_PID 4242 } } }
        let info = attributes[3].1
        #expect(Array(info[4..<9]) == Array("veth\0".utf8))
        let peer = Array(info[20...])       // after KIND (12 bytes), DATA and PEER headers (4 each)
        #expect(peer.count == 16 + 12 + 8 + 8)
        #expect(Array(peer[16..<28]) == [9, 0, 3, 0] + Array("eth0\0".utf8) + [0, 0, 0])
        #expect(Array(peer[28..<36]) == [8, 0, 4, 0, 0x78, 0x05, 0, 0])
        #expect(Array(peer[36..<44]) == [8, 0, 19, 0, 0x92, 0x10, 0, 0])
    }

    @Test func vethIntoANamespaceFileIsGolden() {
        // nlmsghdr: len 128, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE, seq 1; ifinfomsg up;
        // IFLA_IFNAME "vethab", IFLA_MTU 1400, IFLA_MASTER 3,
        // IFLA_LINKINFO { KIND "veth", DATA { PEER { ifinfomsg, IFNAME "eth0", MTU 1400, NET_NS_FD (28) 9 } } }
        let bytes = LinkRequests.createVeth(name: "vethab", peerName: "eth0", peerNamespace: .file(descriptor: 9),
                                            master: 3, mtu: 1400, sequence: 1)
        #expect(bytes == [
            128, 0, 0, 0, 16, 0, 0x05, 0x06, 1, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,
            11, 0, 3, 0, 118, 101, 116, 104, 97, 98, 0, 0,
            8, 0, 4, 0, 0x78, 0x05, 0, 0,
            8, 0, 10, 0, 3, 0, 0, 0,
            68, 0, 18, 0x80,
            9, 0, 1, 0, 118, 101, 116, 104, 0, 0, 0, 0,
            52, 0, 2, 0x80,
            48, 0, 1, 0x80,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            9, 0, 3, 0, 101, 116, 104, 48, 0, 0, 0, 0,
            8, 0, 4, 0, 0x78, 0x05, 0, 0,
            8, 0, 28, 0, 9, 0, 0, 0,
        ])
        // By pid it is the same request with IFLA_NET_NS_PID (19) in the last attribute.
        var byPID = bytes
        byPID[byPID.count - 6] = 19
        byPID[byPID.count - 4] = 0x92; byPID[byPID.count - 3] = 0x10
        #expect(LinkRequests.createVeth(name: "vethab", peerName: "eth0", peerNamespacePID: 4242, master: 3, mtu: 1400,
                                        sequence: 1) == byPID)
    }

    @Test func repliesAreParsed() throws {
        // An RTM_NEWADDR as the kernel sends it: 10.88.0.1/24 on index 3.
        let reply: [UInt8] = [40, 0, 0, 0, 20, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0,
                              2, 24, 0x80, 0, 3, 0, 0, 0,
                              8, 0, 1, 0, 10, 88, 0, 1,
                              8, 0, 2, 0, 10, 88, 0, 1]
        let address = try #require(Replies.address(reply))
        #expect(address.index == 3)
        #expect(address.address.description == "10.88.0.1")
        #expect(address.network.description == "10.88.0.0/24")
        #expect(Replies.link(reply) == nil)
    }

    @Test func otherRequestsAreGolden() {
        // RTM_DELLINK (17), REQUEST|ACK, index 5.
        #expect(LinkRequests.delete(index: 5, sequence: 1) == [
            32, 0, 0, 0, 17, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ])
        // RTM_GETLINK (18), REQUEST|DUMP (0x301).
        #expect(LinkRequests.dump(sequence: 1) == [
            32, 0, 0, 0, 18, 0, 0x01, 0x03, 1, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ])
        // RTM_GETLINK by name: IFLA_IFNAME (3) "eth0\0", padded to 4 bytes.
        #expect(LinkRequests.get(name: "eth0", sequence: 1) == [
            44, 0, 0, 0, 18, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            9, 0, 3, 0, 101, 116, 104, 48, 0, 0, 0, 0,
        ])
        // RTM_GETADDR (22) and RTM_GETROUTE (26) dumps for AF_INET.
        #expect(AddressRequests.dump(sequence: 1) == [24, 0, 0, 0, 22, 0, 0x01, 0x03, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0])
        #expect(RouteRequests.dump(sequence: 1) == [28, 0, 0, 0, 26, 0, 0x01, 0x03, 1, 0, 0, 0, 0, 0, 0, 0,
                                                    2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func chainLookupNamesContainsTable() {
        let bytes = NftablesBatch.getChain("net-lab", sequence: 7)
        let message = NetlinkMessage.split(bytes)
        #expect(message.count == 1)
        #expect(message.first?.sequence == 7)
        // The table and chain names travel as NUL-terminated attributes.
        #expect(bytes.count > 20)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("contain\0") && text.contains("net-lab\0"))
    }

    /// The peer's MAC (docker's 02:42 + its IPv4 address) rides in the peer's own attributes:
    /// IFLA_ADDRESS, 6 bytes, padded to 4.
    @Test func vethPeerGetsItsMACFromItsAddress() throws {
        let mac = Endpoint.containerMAC(for: IPv4Address("10.88.0.5")!)
        #expect(mac == [0x02, 0x42, 10, 88, 0, 5])
        let with = LinkRequests.createVeth(name: "vethab", peerName: "eth0", peerNamespace: .file(descriptor: 9), peerMAC: mac,
                                           master: 3, mtu: 1400, sequence: 1)
        let without = LinkRequests.createVeth(name: "vethab", peerName: "eth0", peerNamespace: .file(descriptor: 9),
                                              master: 3, mtu: 1400, sequence: 1)
        let attribute: [UInt8] = [10, 0, UInt8(IFLA_ADDRESS), 0, 0x02, 0x42, 10, 88, 0, 5, 0, 0]
        #expect(with.count == without.count + attribute.count)
        #expect(with.indices.contains { i in with[i...].starts(with: attribute) })
    }
}

/// Answers each request with the replies scripted for its message type, or fails it with an
/// errno as the kernel would.
final class ScriptedTransport: NetlinkTransport {
    var replies: [UInt16: [[UInt8]]] = [:]
    var failWith: Int32?
    var requests: [(bytes: [UInt8], operation: String)] = []
    var sequence: UInt32 = 100

    func nextSequence() -> UInt32 { sequence += 1; return sequence }

    func execute(_ request: [UInt8], operation: String) throws -> [[UInt8]] {
        requests.append((request, operation))
        if let failWith { throw SystemError(operation, errno: failWith) }
        return replies[NetlinkMessage.split(request)[0].type] ?? []
    }
}

@Suite struct IPv6RequestsTests {
    static let address = IPv6Address("fd00:1::2")!
    /// fd00:1::2 in network order.
    static let addressBytes: [UInt8] = [0xfd, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02]

    @Test func addressAddIsGolden() {
        // nlmsghdr: len 64, RTM_NEWADDR (20), REQUEST|ACK|EXCL|CREATE (0x605), seq 9, pid 0
        // ifaddrmsg: AF_INET6 (10), /64, flags IFA_F_NODAD (2), scope universe (0), index 7
        // IFA_LOCAL (2) and IFA_ADDRESS (1): 4-byte header and 16 bytes of fd00:1::2 each
        let expected: [UInt8] = [
            64, 0, 0, 0, 20, 0, 0x05, 0x06, 9, 0, 0, 0, 0, 0, 0, 0,
            10, 64, 2, 0, 7, 0, 0, 0,
            20, 0, 2, 0] + Self.addressBytes + [
            20, 0, 1, 0] + Self.addressBytes
        #expect(AddressRequests.add(index: 7, address: Self.address, prefix: 64, sequence: 9) == expected)
        // With duplicate address detection: the same request, ifa_flags 0.
        var withDAD = expected
        withDAD[18] = 0
        #expect(AddressRequests.add(index: 7, address: Self.address, prefix: 64, sequence: 9, noDAD: false) == withDAD)
    }

    @Test func defaultRouteIsGolden() {
        // nlmsghdr: len 48, RTM_NEWROUTE (24), REQUEST|ACK|EXCL|CREATE, seq 9, pid 0
        // rtmsg: AF_INET6 (10), dst_len 0, src_len 0, tos 0, table main (254), proto boot (3),
        // scope universe (0), type unicast (1), flags 0; RTA_GATEWAY (5): fd00:1::1
        #expect(RouteRequests.addDefault(gateway: IPv6Address("fd00:1::1")!, sequence: 9) == [
            48, 0, 0, 0, 24, 0, 0x05, 0x06, 9, 0, 0, 0, 0, 0, 0, 0,
            10, 0, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0,
            20, 0, 5, 0, 0xfd, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
        ])
    }

    @Test func dumpsAskForIPv6() {
        // RTM_GETADDR (22) and RTM_GETROUTE (26), REQUEST|DUMP (0x301), family AF_INET6 (10).
        #expect(AddressRequests.dump6(sequence: 1) == [24, 0, 0, 0, 22, 0, 0x01, 0x03, 1, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0])
        #expect(RouteRequests.dump6(sequence: 1) == [28, 0, 0, 0, 26, 0, 0x01, 0x03, 1, 0, 0, 0, 0, 0, 0, 0,
                                                     10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    /// An RTM_NEWADDR for AF_INET6 as the kernel sends it: IFA_ADDRESS, IFA_CACHEINFO, IFA_FLAGS.
    static func addressReply(_ text: String, prefix: UInt8, index: UInt8, local: String? = nil) -> [UInt8] {
        var attributes: [UInt8] = [20, 0, 1, 0] + IPv6Address(text)!.bytes
        if let local { attributes += [20, 0, 2, 0] + IPv6Address(local)!.bytes }
        attributes += [20, 0, 6, 0] + [UInt8](repeating: 0xff, count: 8) + [0x10, 0, 0, 0, 0x10, 0, 0, 0]
        attributes += [8, 0, 8, 0, 0x80, 0, 0, 0]
        let length = UInt8(16 + 8 + attributes.count)
        return [length, 0, 0, 0, 20, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0,
                10, prefix, 0x80, 0, index, 0, 0, 0] + attributes
    }

    /// An RTM_NEWROUTE for AF_INET6: RTA_TABLE, RTA_DST (unless the default route), RTA_OIF.
    static func routeReply(_ text: String?, prefix: UInt8, type: UInt8 = UInt8(RTN_UNICAST), family: UInt8 = 10) -> [UInt8] {
        var attributes: [UInt8] = [8, 0, 15, 0, 254, 0, 0, 0]
        if let text { attributes += [20, 0, 1, 0] + IPv6Address(text)!.bytes }
        attributes += [8, 0, 4, 0, 3, 0, 0, 0]
        let length = UInt8(16 + 12 + attributes.count)
        return [length, 0, 0, 0, 24, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0,
                family, prefix, 0, 0, 254, 2, 0, type, 0, 0, 0, 0] + attributes
    }

    @Test func addressRepliesAreParsed() throws {
        let reply = Self.addressReply("fd00:1::1", prefix: 64, index: 3)
        let parsed = try #require(Replies.address6(reply))
        #expect(parsed.index == 3 && parsed.address.description == "fd00:1::1" && parsed.prefix == 64)
        #expect(Replies.address(reply) == nil)
        // A point-to-point address: IFA_LOCAL is the link's own, IFA_ADDRESS the peer.
        let peer = try #require(Replies.address6(Self.addressReply("fd00:9::2", prefix: 128, index: 4, local: "fd00:9::1")))
        #expect(peer.address.description == "fd00:9::1")
        // An IPv4 reply is not an IPv6 one.
        let v4: [UInt8] = [40, 0, 0, 0, 20, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0,
                           2, 24, 0x80, 0, 3, 0, 0, 0,
                           8, 0, 1, 0, 10, 88, 0, 1,
                           8, 0, 2, 0, 10, 88, 0, 1]
        #expect(Replies.address6(v4) == nil)
        #expect(Replies.address6(Array(reply.prefix(20))) == nil)
    }

    @Test func routeRepliesAreParsed() {
        #expect(Replies.routeDestination6(Self.routeReply("fd12:3456:789a::", prefix: 48))?.description == "fd12:3456:789a::/48")
        #expect(Replies.routeDestination6(Self.routeReply(nil, prefix: 0)) == nil)
        #expect(Replies.routeDestination6(Self.routeReply("fd00:1::1", prefix: 128, type: UInt8(RTN_LOCAL))) == nil)
        #expect(Replies.routeDestination6(Self.routeReply("ff00::", prefix: 8, type: UInt8(RTN_MULTICAST))) == nil)
        #expect(Replies.routeDestination(Self.routeReply("fd12:3456:789a::", prefix: 48)) == nil)
    }

    @Test func hostNetworksLeaveOutLinkLocalLoopbackAndMulticast() throws {
        let transport = ScriptedTransport()
        transport.replies[UInt16(RTM_GETADDR)] = [
            Self.addressReply("::1", prefix: 128, index: 1),
            Self.addressReply("fe80::42:aff:fe58:1", prefix: 64, index: 2),
            Self.addressReply("fd00:1::1", prefix: 64, index: 3),
            Self.addressReply("2001:db8:5::9", prefix: 48, index: 2),
        ]
        transport.replies[UInt16(RTM_GETROUTE)] = [
            Self.routeReply("::1", prefix: 128),
            Self.routeReply("fe80::", prefix: 64),
            Self.routeReply("fd00:1::", prefix: 64),
            Self.routeReply("fd34::", prefix: 48),
            Self.routeReply("ff00::", prefix: 8),                                // older kernels: unicast
            Self.routeReply("ff00::", prefix: 8, type: UInt8(RTN_MULTICAST)),
            Self.routeReply("fd00:1::1", prefix: 128, type: UInt8(RTN_LOCAL)),
            Self.routeReply(nil, prefix: 0),
        ]
        let networks = try Rtnetlink(transport: transport).hostNetworks6()
        #expect(networks.map(\.description) == ["fd00:1::/64", "2001:db8:5::/48", "fd00:1::/64", "fd34::/48"])
        #expect(transport.requests.map(\.operation) == ["netlink: list IPv6 addresses", "netlink: list IPv6 routes"])
        #expect(transport.requests[0].bytes == AddressRequests.dump6(sequence: 101))
        #expect(transport.requests[1].bytes == RouteRequests.dump6(sequence: 102))
    }

    @Test func addressesAndRoutesSendThroughTheTransport() throws {
        let transport = ScriptedTransport()
        let rt = Rtnetlink(transport: transport)
        try rt.addAddress(index: 7, address: Self.address, prefix: 64)
        try rt.addDefaultRoute(via: IPv6Address("fd00:1::1")!)
        #expect(transport.requests.map(\.operation) == ["netlink: add address fd00:1::2/64", "netlink: add default route via fd00:1::1"])
        #expect(transport.requests[0].bytes == AddressRequests.add(index: 7, address: Self.address, prefix: 64, sequence: 101))
        #expect(transport.requests[1].bytes == RouteRequests.addDefault(gateway: IPv6Address("fd00:1::1")!, sequence: 102))
    }

    @Test func anAddressAlreadyThereIsFine() throws {
        let transport = ScriptedTransport()
        transport.failWith = EEXIST
        try Rtnetlink(transport: transport).ensureAddress(index: 7, address: Self.address, prefix: 64)
        transport.failWith = ENODEV
        #expect(throws: SystemError("netlink: add address fd00:1::2/64", errno: ENODEV)) {
            try Rtnetlink(transport: transport).ensureAddress(index: 7, address: Self.address, prefix: 64)
        }
    }
}
