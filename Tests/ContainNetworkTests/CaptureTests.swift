import Glibc
import Testing
@testable import ContainNetwork

/// Hand-built frames, header by header. Checksums are left zero: the decoder does not read them.
enum Frames {
    static let hostMAC: [UInt8] = [0x02, 0x42, 0x0a, 0x58, 0x00, 0x01]
    static let containerMAC: [UInt8] = [0x02, 0x42, 0x0a, 0x58, 0x00, 0x02]
    static let broadcast: [UInt8] = Array(repeating: 0xff, count: 6)

    static func ethernet(_ type: UInt16, _ payload: [UInt8], from source: [UInt8] = containerMAC,
                         to destination: [UInt8] = hostMAC) -> [UInt8] {
        destination + source + be16(type) + payload
    }

    static func arp(op: UInt16, senderMAC: [UInt8], senderIP: String, targetMAC: [UInt8], targetIP: String) -> [UInt8] {
        be16(1) + be16(0x0800) + [6, 4] + be16(op) + senderMAC + ip4(senderIP) + targetMAC + ip4(targetIP)
    }

    static func ipv4(_ proto: UInt8, _ source: String, _ destination: String, _ payload: [UInt8], id: UInt16 = 0x1234) -> [UInt8] {
        [0x45, 0] + be16(UInt16(20 + payload.count)) + be16(id) + be16(0x4000) + [64, proto] + be16(0)
            + ip4(source) + ip4(destination) + payload
    }

    static func ipv6(_ next: UInt8, _ source: String, _ destination: String, _ payload: [UInt8]) -> [UInt8] {
        [0x60, 0, 0, 0] + be16(UInt16(payload.count)) + [next, 64]
            + IPv6Address(source)!.bytes + IPv6Address(destination)!.bytes + payload
    }

    static func echo(type: UInt8, id: UInt16, seq: UInt16, dataLength: Int) -> [UInt8] {
        [type, 0] + be16(0) + be16(id) + be16(seq) + Array(repeating: 0x61, count: dataLength)
    }

    static func tcp(_ sport: UInt16, _ dport: UInt16, seq: UInt32, ack: UInt32 = 0, flags: UInt8, window: UInt16,
                    options: [UInt8] = [], payload: [UInt8] = []) -> [UInt8] {
        let offset = UInt8((20 + options.count) / 4) << 4
        return be16(sport) + be16(dport) + be32(seq) + be32(ack) + [offset, flags] + be16(window) + be16(0) + be16(0)
            + options + payload
    }

    static func udp(_ sport: UInt16, _ dport: UInt16, payload: [UInt8]) -> [UInt8] {
        be16(sport) + be16(dport) + be16(UInt16(8 + payload.count)) + be16(0) + payload
    }

    static func ip4(_ text: String) -> [UInt8] { IPv4Address(text)!.bytes }
    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
}

@Suite struct CaptureDecoderTests {
    /// 12:34:56.789012 UTC on 1 January 2024.
    static let time = (seconds: 1_704_112_496, microseconds: 789_012)

    func line(_ frame: [UInt8], originalLength: Int? = nil) -> String {
        PacketDecoder.line(frame, linkType: LinkType.ethernet, timestamp: Self.time, originalLength: originalLength)
    }

    @Test func arpRequestAndReply() {
        let request = Frames.ethernet(0x0806, Frames.arp(op: 1, senderMAC: Frames.containerMAC, senderIP: "10.88.0.2",
                                                         targetMAC: [0, 0, 0, 0, 0, 0], targetIP: "10.88.0.1"),
                                      to: Frames.broadcast)
        #expect(line(request) == "12:34:56.789012 ARP, Request who-has 10.88.0.1 tell 10.88.0.2, length 28")
        let reply = Frames.ethernet(0x0806, Frames.arp(op: 2, senderMAC: Frames.hostMAC, senderIP: "10.88.0.1",
                                                       targetMAC: Frames.containerMAC, targetIP: "10.88.0.2"),
                                    from: Frames.hostMAC, to: Frames.containerMAC)
        // Padded to Ethernet's 60-byte minimum on the wire, as tcpdump counts it.
        #expect(line(reply + Array(repeating: 0, count: 18)) == "12:34:56.789012 ARP, Reply 10.88.0.1 is-at 02:42:0a:58:00:01, length 46")
        // A request that already names the MAC it wants confirmed (ARP probing a known neighbour).
        let unicast = Frames.ethernet(0x0806, Frames.arp(op: 1, senderMAC: Frames.containerMAC, senderIP: "10.88.0.2",
                                                         targetMAC: Frames.hostMAC, targetIP: "10.88.0.1"))
        #expect(line(unicast) == "12:34:56.789012 ARP, Request who-has 10.88.0.1 (02:42:0a:58:00:01) tell 10.88.0.2, length 28")
    }

    @Test func icmpEcho() {
        let request = Frames.ethernet(0x0800, Frames.ipv4(1, "10.88.0.2", "10.88.0.3", Frames.echo(type: 8, id: 17, seq: 1, dataLength: 56)))
        #expect(line(request) == "12:34:56.789012 IP 10.88.0.2 > 10.88.0.3: ICMP echo request, id 17, seq 1, length 64")
        let reply = Frames.ethernet(0x0800, Frames.ipv4(1, "10.88.0.3", "10.88.0.2", Frames.echo(type: 0, id: 17, seq: 1, dataLength: 56)))
        #expect(line(reply) == "12:34:56.789012 IP 10.88.0.3 > 10.88.0.2: ICMP echo reply, id 17, seq 1, length 64")
    }

    @Test func icmpPortUnreachableNamesTheDatagram() {
        let datagram = Frames.ipv4(17, "10.88.0.2", "10.88.0.1", Frames.udp(53124, 53, payload: [1, 2, 3, 4]))
        let icmp: [UInt8] = [3, 3, 0, 0, 0, 0, 0, 0] + datagram.prefix(28)
        let frame = Frames.ethernet(0x0800, Frames.ipv4(1, "10.88.0.1", "10.88.0.2", icmp))
        #expect(line(frame) == "12:34:56.789012 IP 10.88.0.1 > 10.88.0.2: ICMP 10.88.0.1 udp port 53 unreachable, length 36")
    }

    @Test func tcpHandshakeDataAndClose() {
        func ip(_ segment: [UInt8], reverse: Bool = false) -> [UInt8] {
            Frames.ethernet(0x0800, reverse ? Frames.ipv4(6, "10.88.0.3", "10.88.0.2", segment)
                                            : Frames.ipv4(6, "10.88.0.2", "10.88.0.3", segment))
        }
        let syn = ip(Frames.tcp(45678, 80, seq: 123, flags: 0x02, window: 64240))
        #expect(line(syn) == "12:34:56.789012 IP 10.88.0.2.45678 > 10.88.0.3.80: Flags [S], seq 123, win 64240, length 0")
        let options: [UInt8] = [2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7]
        let synWithOptions = ip(Frames.tcp(45678, 80, seq: 123, flags: 0x02, window: 64240, options: options))
        #expect(line(synWithOptions) == "12:34:56.789012 IP 10.88.0.2.45678 > 10.88.0.3.80: Flags [S], seq 123, win 64240, "
            + "options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0")
        let synAck = ip(Frames.tcp(80, 45678, seq: 900, ack: 124, flags: 0x12, window: 65160), reverse: true)
        #expect(line(synAck) == "12:34:56.789012 IP 10.88.0.3.80 > 10.88.0.2.45678: Flags [S.], seq 900, ack 124, win 65160, length 0")
        let ack = ip(Frames.tcp(45678, 80, seq: 124, ack: 901, flags: 0x10, window: 502))
        #expect(line(ack) == "12:34:56.789012 IP 10.88.0.2.45678 > 10.88.0.3.80: Flags [.], ack 901, win 502, length 0")
        let data = ip(Frames.tcp(45678, 80, seq: 124, ack: 901, flags: 0x18, window: 502, payload: Array("GET / HTTP/1.0\r\n\r\n".utf8)))
        #expect(line(data) == "12:34:56.789012 IP 10.88.0.2.45678 > 10.88.0.3.80: Flags [P.], seq 124:142, ack 901, win 502, length 18")
        let fin = ip(Frames.tcp(45678, 80, seq: 142, ack: 901, flags: 0x11, window: 502))
        #expect(line(fin) == "12:34:56.789012 IP 10.88.0.2.45678 > 10.88.0.3.80: Flags [F.], seq 142, ack 901, win 502, length 0")
        let reset = ip(Frames.tcp(80, 45678, seq: 901, flags: 0x04, window: 0), reverse: true)
        #expect(line(reset) == "12:34:56.789012 IP 10.88.0.3.80 > 10.88.0.2.45678: Flags [R], seq 901, win 0, length 0")
    }

    @Test func udpIsPortsAndLength() {
        let query = Frames.ethernet(0x0800, Frames.ipv4(17, "10.88.0.2", "10.88.0.1", Frames.udp(53124, 53, payload: Array(repeating: 0, count: 32))))
        #expect(line(query) == "12:34:56.789012 IP 10.88.0.2.53124 > 10.88.0.1.53: UDP, length 32")
        // Ethernet padding after a short datagram is not counted.
        let short = Frames.ethernet(0x0800, Frames.ipv4(17, "10.88.0.2", "10.88.0.1", Frames.udp(1000, 2000, payload: [1])))
        #expect(line(short + Array(repeating: 0, count: 15)) == "12:34:56.789012 IP 10.88.0.2.1000 > 10.88.0.1.2000: UDP, length 1")
    }

    @Test func ipv6() {
        let echo = Frames.ethernet(0x86dd, Frames.ipv6(58, "fd00::2", "fd00::3", Frames.echo(type: 128, id: 1, seq: 1, dataLength: 56)))
        #expect(line(echo) == "12:34:56.789012 IP6 fd00::2 > fd00::3: ICMP6, echo request, id 1, seq 1, length 64")
        let reply = Frames.ethernet(0x86dd, Frames.ipv6(58, "fd00::3", "fd00::2", Frames.echo(type: 129, id: 1, seq: 1, dataLength: 56)))
        #expect(line(reply) == "12:34:56.789012 IP6 fd00::3 > fd00::2: ICMP6, echo reply, id 1, seq 1, length 64")
        let solicitation: [UInt8] = [135, 0, 0, 0, 0, 0, 0, 0] + IPv6Address("fd00::3")!.bytes
        let ns = Frames.ethernet(0x86dd, Frames.ipv6(58, "fd00::2", "ff02::1:ff00:3", solicitation))
        #expect(line(ns) == "12:34:56.789012 IP6 fd00::2 > ff02::1:ff00:3: ICMP6, neighbor solicitation, who has fd00::3, length 24")
        let syn = Frames.ethernet(0x86dd, Frames.ipv6(6, "fd00::2", "fd00::3", Frames.tcp(40000, 443, seq: 7, flags: 0x02, window: 64800)))
        #expect(line(syn) == "12:34:56.789012 IP6 fd00::2.40000 > fd00::3.443: Flags [S], seq 7, win 64800, length 0")
        // MLD rides behind a hop-by-hop header.
        let hopByHop: [UInt8] = [58, 0, 5, 2, 0, 0, 1, 0]
        let report: [UInt8] = [143, 0, 0, 0, 0, 0, 0, 1] + [4, 0, 0, 0] + IPv6Address("ff02::1:ff00:2")!.bytes
        let mld = Frames.ethernet(0x86dd, Frames.ipv6(0, "fe80::1", "ff02::16", hopByHop + report))
        #expect(line(mld) == "12:34:56.789012 IP6 fe80::1 > ff02::16: HBH ICMP6, multicast listener report v2, 1 group record(s), length 28")
    }

    @Test func unknownEthertypeNamesAddressesAndLength() {
        let frame = Frames.ethernet(0x88b5, Array(repeating: 7, count: 46), to: Frames.broadcast)
        #expect(line(frame) == "12:34:56.789012 02:42:0a:58:00:02 > ff:ff:ff:ff:ff:ff, ethertype Unknown (0x88b5), length 60")
        let lldp = Frames.ethernet(0x88cc, Array(repeating: 0, count: 46), to: [0x01, 0x80, 0xc2, 0, 0, 0x0e])
        #expect(line(lldp) == "12:34:56.789012 02:42:0a:58:00:02 > 01:80:c2:00:00:0e, ethertype LLDP (0x88cc), length 60")
    }

    @Test func truncatedFramesSayWhereTheyStop() {
        let syn = Frames.ethernet(0x0800, Frames.ipv4(6, "10.88.0.2", "10.88.0.3", Frames.tcp(45678, 80, seq: 123, flags: 0x02, window: 64240)))
        #expect(line(Array(syn.prefix(10))) == "12:34:56.789012 [|ether]")
        #expect(line(Array(syn.prefix(14))) == "12:34:56.789012 IP [|ip]")
        #expect(line(Array(syn.prefix(30))) == "12:34:56.789012 IP [|ip]")
        #expect(line(Array(syn.prefix(38))) == "12:34:56.789012 IP 10.88.0.2.45678 > 10.88.0.3.80: [|tcp]")
        #expect(line(Array(syn.prefix(36))) == "12:34:56.789012 IP 10.88.0.2 > 10.88.0.3: [|tcp]")
        let arp = Frames.ethernet(0x0806, Frames.arp(op: 1, senderMAC: Frames.containerMAC, senderIP: "10.88.0.2",
                                                     targetMAC: [0, 0, 0, 0, 0, 0], targetIP: "10.88.0.1"))
        #expect(line(Array(arp.prefix(30)), originalLength: 42) == "12:34:56.789012 ARP, Request [|arp]")
        // Every prefix of every fixture decodes to something, without trapping.
        for fixture in [syn, arp] {
            for n in 0...fixture.count {
                #expect(line(Array(fixture.prefix(n))).hasPrefix("12:34:56.789012 "))
            }
        }
    }

    @Test func fuzzedFramesNeverTrap() {
        var random = SplitMix64(seed: 0x636f_6e74_6169_6e)   // DNSMessageTests' generator
        let seeds: [[UInt8]] = [
            Frames.ethernet(0x0800, Frames.ipv4(6, "10.88.0.2", "10.88.0.3",
                                                Frames.tcp(1, 2, seq: 3, flags: 0x12, window: 4, options: [2, 4, 5, 0xb4, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2]))),
            Frames.ethernet(0x0800, Frames.ipv4(1, "10.88.0.1", "10.88.0.2", [3, 3, 0, 0, 0, 0, 0, 0]
                + Frames.ipv4(17, "10.88.0.2", "10.88.0.1", Frames.udp(1, 53, payload: [])))),
            Frames.ethernet(0x86dd, Frames.ipv6(0, "fe80::1", "ff02::16", [44, 0, 0, 0, 0, 0, 0, 1] + Array(repeating: 0, count: 16))),
            Frames.ethernet(0x8100, [0, 10, 0x08, 0x06] + Frames.arp(op: 2, senderMAC: Frames.hostMAC, senderIP: "10.88.0.1",
                                                                   targetMAC: Frames.containerMAC, targetIP: "10.88.0.2")),
        ]
        let linkTypes: [Int32] = [LinkType.ethernet, LinkType.raw, 101, LinkType.linuxSLL, LinkType.linuxSLL2, 9999]
        for round in 0..<5000 {
            var frame: [UInt8]
            if round % 2 == 0 {
                // A valid frame with a few bytes changed and its tail cut anywhere.
                frame = seeds[Int.random(in: 0..<seeds.count, using: &random)]
                for _ in 0..<Int.random(in: 1...6, using: &random) {
                    frame[Int.random(in: 0..<frame.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
                frame = Array(frame.prefix(Int.random(in: 0...frame.count, using: &random)))
            } else {
                // Garbage behind a plausible link header.
                frame = (0..<Int.random(in: 0...120, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                if frame.count > 14 { frame[12] = [0x08, 0x86, 0x88].randomElement(using: &random)!; frame[13] = [0x00, 0x06, 0xdd].randomElement(using: &random)! }
            }
            let linkType = round % 10 == 9 ? linkTypes.randomElement(using: &random)! : LinkType.ethernet
            let text = PacketDecoder.line(frame, linkType: linkType,
                                          timestamp: (Int(Int32.random(in: .min ... .max, using: &random)), Int.random(in: -5...2_000_000, using: &random)),
                                          originalLength: Int.random(in: -10...70_000, using: &random))
            #expect(text.count >= 16)
        }
    }

    @Test func timeOfDayIsUTCPlusTheOffset() {
        let frame = Frames.ethernet(0x88b5, [])
        #expect(PacketDecoder.line(frame, linkType: LinkType.ethernet, timestamp: (0, 5), utcOffset: 3600).hasPrefix("01:00:00.000005 "))
        #expect(PacketDecoder.line(frame, linkType: LinkType.ethernet, timestamp: (0, 0), utcOffset: -60).hasPrefix("23:59:00.000000 "))
        #expect(PacketDecoder.line(frame, linkType: LinkType.ethernet, timestamp: (86_399, 999_999)).hasPrefix("23:59:59.999999 "))
        #expect(PacketDecoder.line(frame, linkType: LinkType.ethernet, timestamp: (.max, 0), utcOffset: 3600).count > 16)
    }

    @Test func rawIPAndCookedLinkTypes() {
        let echo = Frames.ipv4(1, "10.88.0.2", "10.88.0.3", Frames.echo(type: 8, id: 17, seq: 1, dataLength: 56))
        #expect(PacketDecoder.describe(echo, linkType: LinkType.raw, originalLength: echo.count)
            == "IP 10.88.0.2 > 10.88.0.3: ICMP echo request, id 17, seq 1, length 64")
        let cooked: [UInt8] = [0, 4, 0, 1, 0, 6] + Frames.containerMAC + [0, 0] + Frames.be16(0x0800) + echo
        #expect(PacketDecoder.describe(cooked, linkType: LinkType.linuxSLL, originalLength: cooked.count)
            == "Out IP 10.88.0.2 > 10.88.0.3: ICMP echo request, id 17, seq 1, length 64")
    }
}
