import Glibc

/// One line per captured packet, as `tcpdump -n` prints it by default:
///
///     12:34:56.789012 IP 10.88.0.2 > 10.88.0.3: ICMP echo request, id 17, seq 1, length 64
///     12:34:56.789100 IP 10.88.0.2.45678 > 10.88.0.3.80: Flags [S], seq 123, win 64240, length 0
///     12:34:56.789200 ARP, Request who-has 10.88.0.1 tell 10.88.0.2, length 28
///
/// Pure: bytes in, text out. Every read is bounds-checked, so a truncated or garbage frame ends
/// its line with tcpdump's `[|proto]` mark instead of trapping.
///
/// Where it differs from tcpdump, on purpose:
/// - Sequence numbers are absolute (what `tcpdump -S` prints): tcpdump's relative numbers need
///   per-connection state, and this decoder keeps none.
/// - UDP is always `UDP, length N`: no DNS, DHCP or other application decoding.
/// - The time of day is UTC plus `utcOffset` seconds (tcpdump prints local time: pass
///   `localUTCOffset(at:)` for that), so that tests do not depend on the machine's zone.
/// - Only the protocols a container network carries are decoded: Ethernet (and the raw-IP and
///   Linux "cooked" link types), ARP, IPv4, IPv6, ICMP, ICMPv6, TCP, UDP. Anything else is named
///   by number with its length, as tcpdump does for what it does not know.
/// The link types a capture reports (libpcap's DLT_ values on Linux), which decide how a frame
/// starts.
public enum LinkType {
    public static let ethernet: Int32 = 1        // DLT_EN10MB
    public static let raw: Int32 = 12            // DLT_RAW (101, LINKTYPE_RAW, in pcap files)
    public static let linuxSLL: Int32 = 113      // DLT_LINUX_SLL, "cooked" (any)
    public static let linuxSLL2: Int32 = 276     // DLT_LINUX_SLL2
}

public enum PacketDecoder {
    /// - Parameters:
    ///   - frame: the captured bytes (possibly fewer than were on the wire).
    ///   - linkType: `DLT_EN10MB`; also `DLT_RAW`/`LINKTYPE_RAW` and `DLT_LINUX_SLL`/`SLL2`.
    ///   - originalLength: the length on the wire, which tcpdump prints for link-level
    ///     protocols (ARP, unknown ethertypes); the frame's own length when nil.
    ///   - utcOffset: seconds east of UTC for the time of day; 0 prints UTC.
    public static func line(_ frame: [UInt8], linkType: Int32, timestamp: (seconds: Int, microseconds: Int),
                            originalLength: Int? = nil, utcOffset: Int = 0) -> String {
        timeOfDay(seconds: timestamp.seconds, microseconds: timestamp.microseconds, utcOffset: utcOffset)
            + " " + describe(frame, linkType: linkType, originalLength: originalLength ?? frame.count)
    }

    /// The local zone's offset from UTC at that moment (from `localtime_r`, so TZ applies).
    public static func localUTCOffset(at seconds: Int) -> Int {
        var time = time_t(seconds)
        var parts = tm()
        guard localtime_r(&time, &parts) != nil else { return 0 }
        return Int(parts.tm_gmtoff)
    }

    /// The line without its time stamp.
    public static func describe(_ frame: [UInt8], linkType: Int32, originalLength: Int) -> String {
        let bytes = Bytes(frame)
        switch linkType {
        case LinkType.ethernet:
            return ethernet(bytes, wireLength: originalLength)
        case LinkType.raw, 101 /* LINKTYPE_RAW, DLT_RAW's number in pcap files */:
            switch bytes.u8(0).map({ $0 >> 4 }) {
            case 4: return ipv4(bytes)
            case 6: return ipv6(bytes)
            default: return "[|ip]"
            }
        case LinkType.linuxSLL:
            // 16 bytes: packet type, ARPHRD type, address length, 8 address bytes, protocol.
            guard let type = bytes.u16(0), let proto = bytes.u16(14) else { return "[|sll]" }
            return direction(type) + " " + payload(ethertype: proto, bytes.from(16), wireLength: originalLength - 16)
        case LinkType.linuxSLL2:
            // 20 bytes: protocol, reserved, interface index, ARPHRD type, packet type, ...
            guard let proto = bytes.u16(0), let type = bytes.u8(10) else { return "[|sll2]" }
            return direction(UInt16(type)) + " " + payload(ethertype: proto, bytes.from(20), wireLength: originalLength - 20)
        default:
            return "[link type \(linkType)], length \(originalLength)"
        }
    }

    static func timeOfDay(seconds: Int, microseconds: Int, utcOffset: Int) -> String {
        let (sum, overflow) = seconds.addingReportingOverflow(utcOffset)
        let day = ((overflow ? seconds : sum) % 86_400 + 86_400) % 86_400
        let micros = min(max(microseconds, 0), 999_999)
        return pad(day / 3600, 2) + ":" + pad(day / 60 % 60, 2) + ":" + pad(day % 60, 2) + "." + pad(micros, 6)
    }

    // MARK: - Link layer

    static func ethernet(_ frame: Bytes, wireLength: Int) -> String {
        guard let type = frame.u16(12) else { return "[|ether]" }
        let addresses = mac(frame, at: 6) + " > " + mac(frame, at: 0)
        if type <= 1500 {
            return addresses + ", 802.3, length \(wireLength)"
        }
        return payload(ethertype: type, frame.from(14), wireLength: wireLength - 14, unknown: (addresses, wireLength))
    }

    /// What follows the link header, by ethertype. `unknown` is for the unknown-type line, which
    /// tcpdump prefixes with the MAC addresses and ends with the whole frame's length.
    static func payload(ethertype: UInt16, _ bytes: Bytes, wireLength: Int,
                        unknown: (addresses: String, frameLength: Int)? = nil) -> String {
        switch ethertype {
        case 0x0800: return ipv4(bytes)
        case 0x86dd: return ipv6(bytes)
        case 0x0806: return arp(bytes, wireLength: wireLength)
        case 0x8100, 0x88a8:
            guard let tag = bytes.u16(0), let inner = bytes.u16(2) else { return "vlan [|vlan]" }
            return "vlan \(tag & 0x0fff), p \(tag >> 13), "
                + payload(ethertype: inner, bytes.from(4), wireLength: wireLength - 4, unknown: unknown)
        default:
            let names: [UInt16: String] = [0x88cc: "LLDP", 0x8035: "Reverse ARP", 0x888e: "EAPOL", 0x8847: "MPLS unicast",
                                           0x8848: "MPLS multicast", 0x8863: "PPPoE D", 0x8864: "PPPoE S", 0x88f7: "PTP"]
            let prefix = unknown.map { $0.addresses + ", " } ?? ""
            let length = unknown?.frameLength ?? wireLength
            return prefix + "ethertype \(names[ethertype] ?? "Unknown") (0x\(hex(Int(ethertype), 4))), length \(max(length, 0))"
        }
    }

    static func direction(_ packetType: UInt16) -> String {
        switch packetType {
        case 0: return "In"
        case 1: return "B"
        case 2: return "M"
        case 3: return "P"
        case 4: return "Out"
        default: return "?"
        }
    }

    // MARK: - ARP

    static func arp(_ p: Bytes, wireLength: Int) -> String {
        guard let hardware = p.u16(0), let proto = p.u16(2), let hlen = p.u8(4), let plen = p.u8(5),
              let op = p.u16(6) else { return "ARP, [|arp]" }
        let ops: [UInt16: String] = [1: "Request", 2: "Reply", 3: "Reverse Request", 4: "Reverse Reply",
                                     8: "Inverse Request", 9: "Inverse Reply", 10: "NACK Reply"]
        let opName = ops[op] ?? "Unknown (\(op))"
        guard hardware == 1, proto == 0x0800, hlen == 6, plen == 4 else {
            return "ARP, \(opName), hardware \(hardware), protocol 0x\(hex(Int(proto), 4)), length \(wireLength)"
        }
        guard p.count >= 28 else { return "ARP, \(opName) [|arp]" }
        let senderMAC = mac(p, at: 8), senderIP = ipv4Address(p, at: 14), targetIP = ipv4Address(p, at: 24)
        switch op {
        case 1:
            let targetMAC = p.slice(18, 6) ?? []
            let known = targetMAC.contains { $0 != 0 } ? " (\(mac(p, at: 18)))" : ""
            return "ARP, Request who-has \(targetIP)\(known) tell \(senderIP), length \(wireLength)"
        case 2:
            return "ARP, Reply \(senderIP) is-at \(senderMAC), length \(wireLength)"
        default:
            return "ARP, \(opName), length \(wireLength)"
        }
    }

    // MARK: - IPv4

    static func ipv4(_ packet: Bytes) -> String {
        guard let first = packet.u8(0) else { return "IP [|ip]" }
        guard first >> 4 == 4 else { return "IP [version \(first >> 4) != 4]" }
        let headerLength = Int(first & 0x0f) * 4
        guard let totalLength = packet.u16(2).map(Int.init), let fragment = packet.u16(6), let proto = packet.u8(9),
              packet.count >= 20 else { return "IP [|ip]" }
        guard headerLength >= 20 else { return "IP bad-hlen \(headerLength)" }
        guard totalLength >= headerLength else { return "IP bad-len \(totalLength)" }
        guard packet.count >= headerLength else { return "IP [|ip]" }
        let source = ipv4Address(packet, at: 12), destination = ipv4Address(packet, at: 16)
        // Ethernet pads short frames: the IP header's own length says where the packet ends.
        let body = packet.from(headerLength).prefix(totalLength - headerLength)
        let length = totalLength - headerLength
        if fragment & 0x1fff != 0 {
            // Not the first fragment: no transport header to read.
            return "IP \(source) > \(destination): ip-proto-\(proto)"
        }
        switch proto {
        case 6: return "IP " + tcp(body, length: length, source: source, destination: destination)
        case 17: return "IP " + udp(body, length: length, source: source, destination: destination)
        case 1: return "IP \(source) > \(destination): " + icmp(body, length: length)
        default: return "IP \(source) > \(destination): ip-proto-\(proto) \(length)"
        }
    }

    static func icmp(_ p: Bytes, length: Int) -> String {
        guard let type = p.u8(0), let code = p.u8(1) else { return "ICMP [|icmp]" }
        let text: String
        switch type {
        case 0, 8:
            guard let id = p.u16(4), let seq = p.u16(6) else { return "ICMP [|icmp]" }
            text = "echo \(type == 8 ? "request" : "reply"), id \(id), seq \(seq)"
        case 3:
            // The offending packet's header follows the 8-byte ICMP header.
            let inner = p.from(8)
            let innerLength = Int((inner.u8(0) ?? 0) & 0x0f) * 4
            guard let innerProto = inner.u8(9), inner.count >= 20 else { return "ICMP [|icmp]" }
            let target = ipv4Address(inner, at: 16)
            switch code {
            case 0: text = "net \(target) unreachable"
            case 1: text = "host \(target) unreachable"
            case 2: text = "\(target) protocol \(innerProto) unreachable"
            case 3:
                guard let port = inner.u16(innerLength + 2) else { return "ICMP [|icmp]" }
                text = "\(target) \(portProtocol(innerProto)) port \(port) unreachable"
            case 4:
                text = "\(target) unreachable - need to frag (mtu \(p.u16(6) ?? 0))"
            case 13: text = "\(target) unreachable - admin prohibited filter"
            default: text = "\(target) unreachable - #\(code)"
            }
        case 11: text = code == 0 ? "time exceeded in-transit" : "ip reassembly time exceeded"
        case 5: text = "redirect"
        case 13: text = "time stamp request"
        case 14: text = "time stamp reply"
        default: text = "type-#\(type)"
        }
        return "ICMP \(text), length \(length)"
    }

    // MARK: - IPv6

    static func ipv6(_ packet: Bytes) -> String {
        guard let first = packet.u8(0) else { return "IP6 [|ip6]" }
        guard first >> 4 == 6 else { return "IP6 [version \(first >> 4) != 6]" }
        guard let payloadLength = packet.u16(4).map(Int.init), var next = packet.u8(6),
              packet.count >= 40 else { return "IP6 [|ip6]" }
        let source = ipv6Address(packet, at: 8), destination = ipv6Address(packet, at: 24)
        var body = packet.from(40).prefix(payloadLength)
        var length = payloadLength
        var prefix = ""
        // Extension headers before the transport: hop-by-hop (MLD carries one), destination
        // options, routing, fragment.
        while [0, 43, 44, 60].contains(next) {
            guard let following = body.u8(0), let size = body.u8(1) else {
                return "IP6 \(source) > \(destination): \(prefix)[|ip6]"
            }
            let headerLength = next == 44 ? 8 : (Int(size) + 1) * 8
            switch next {
            case 0: prefix += "HBH "
            case 60: prefix += "DSTOPT "
            case 43: prefix += "srcrt "
            default:
                guard let offset = body.u16(2) else { return "IP6 \(source) > \(destination): \(prefix)[|frag]" }
                prefix += "frag (\(offset & 0xfff8)|\(length - 8)) "
                if offset & 0xfff8 != 0 { return "IP6 \(source) > \(destination): \(prefix.dropLast())" }
            }
            guard body.count >= headerLength else { return "IP6 \(source) > \(destination): \(prefix)[|ip6]" }
            next = following
            body = body.from(headerLength)
            length -= headerLength
        }
        // As tcpdump does, the addresses come first whenever extension headers were printed:
        // `IP6 a > b: frag (0|1448) a.5000 > b.5001: UDP, length 2000`.
        let addresses = "IP6 \(source) > \(destination): "
        switch next {
        case 6: return (prefix.isEmpty ? "IP6 " : addresses + prefix) + tcp(body, length: length, source: source, destination: destination)
        case 17: return (prefix.isEmpty ? "IP6 " : addresses + prefix) + udp(body, length: length, source: source, destination: destination)
        case 58: return addresses + prefix + icmp6(body, length: length)
        default: return addresses + prefix + "ip-proto-\(next) \(length)"
        }
    }

    static func icmp6(_ p: Bytes, length: Int) -> String {
        guard let type = p.u8(0), let code = p.u8(1) else { return "ICMP6 [|icmp6]" }
        let text: String
        switch type {
        case 128, 129:
            guard let id = p.u16(4), let seq = p.u16(6) else { return "ICMP6, echo \(type == 128 ? "request" : "reply") [|icmp6]" }
            text = "echo \(type == 128 ? "request" : "reply"), id \(id), seq \(seq)"
        case 1:
            let inner = p.from(8)
            guard inner.count >= 40 else { return "ICMP6, destination unreachable [|icmp6]" }
            let target = ipv6Address(inner, at: 24)
            switch code {
            case 0: text = "destination unreachable, unreachable route \(target)"
            case 1: text = "destination unreachable, unreachable prohibited \(target)"
            case 3: text = "destination unreachable, unreachable address \(target)"
            case 4:
                guard let port = inner.u16(42) else { return "ICMP6, destination unreachable [|icmp6]" }
                text = "destination unreachable, unreachable port \(target) \(portProtocol(inner.u8(6) ?? 0)) port \(port)"
            default: text = "destination unreachable, code \(code) \(target)"
            }
        case 2:
            guard let mtu = p.u32(4) else { return "ICMP6, packet too big [|icmp6]" }
            text = "packet too big, mtu \(mtu)"
        case 3: text = code == 0 ? "time exceeded in-transit" : "time exceeded"
        case 4: text = "parameter problem"
        case 130: text = "multicast listener query"
        case 131: text = "multicast listener report"
        case 132: text = "multicast listener done"
        case 133: text = "router solicitation"
        case 134: text = "router advertisement"
        case 135, 136:
            guard p.count >= 24 else { return "ICMP6, neighbor \(type == 135 ? "solicitation" : "advertisement") [|icmp6]" }
            text = type == 135 ? "neighbor solicitation, who has \(ipv6Address(p, at: 8))"
                               : "neighbor advertisement, tgt is \(ipv6Address(p, at: 8))"
        case 137: text = "redirect"
        case 143:
            guard let records = p.u16(6) else { return "ICMP6, multicast listener report v2 [|icmp6]" }
            text = "multicast listener report v2, \(records) group record(s)"
        default: text = "unknown icmp6 type (\(type))"
        }
        return "ICMP6, \(text), length \(length)"
    }

    // MARK: - TCP and UDP

    static func tcp(_ p: Bytes, length: Int, source: String, destination: String) -> String {
        guard let sport = p.u16(0), let dport = p.u16(2) else { return "\(source) > \(destination): [|tcp]" }
        let head = "\(source).\(sport) > \(destination).\(dport): "
        guard let seq = p.u32(4), let ack = p.u32(8), let offsetByte = p.u8(12), let flags = p.u8(13),
              let window = p.u16(14), let urgent = p.u16(18) else { return head + "[|tcp]" }
        let headerLength = Int(offsetByte >> 4) * 4
        guard headerLength >= 20 else { return head + "[bad hdr length \(headerLength) - too short, < 20]" }
        guard headerLength <= length else { return head + "[bad hdr length \(headerLength) - too long, > \(length)]" }
        let dataLength = length - headerLength
        let names: [(UInt8, String)] = [(0x01, "F"), (0x02, "S"), (0x04, "R"), (0x08, "P"),
                                        (0x10, "."), (0x20, "U"), (0x40, "E"), (0x80, "W")]
        let flagText = names.filter { flags & $0.0 != 0 }.map(\.1).joined()
        var out = head + "Flags [\(flagText.isEmpty ? "none" : flagText)]"
        // tcpdump omits the sequence number of a bare ACK.
        if dataLength > 0 || flags & 0x07 != 0 {
            out += ", seq \(seq)"
            if dataLength > 0 { out += ":\(seq &+ UInt32(truncatingIfNeeded: dataLength))" }
        }
        if flags & 0x10 != 0 { out += ", ack \(ack)" }
        out += ", win \(window)"
        if flags & 0x20 != 0 { out += ", urg \(urgent)" }
        if headerLength > 20 {
            guard p.count >= headerLength else { return out + ", options [|tcp]" }
            out += ", options [" + tcpOptions(p.from(20).prefix(headerLength - 20)) + "]"
        }
        return out + ", length \(dataLength)"
    }

    static func tcpOptions(_ o: Bytes) -> String {
        var parts: [String] = []
        var i = 0
        while let kind = o.u8(i) {
            if kind == 0 { parts.append("eol"); break }
            if kind == 1 { parts.append("nop"); i += 1; continue }
            guard let size = o.u8(i + 1).map(Int.init), size >= 2, i + size <= o.count else {
                parts.append("bad opt"); break
            }
            switch (kind, size) {
            case (2, 4): parts.append("mss \(o.u16(i + 2) ?? 0)")
            case (3, 3): parts.append("wscale \(o.u8(i + 2) ?? 0)")
            case (4, 2): parts.append("sackOK")
            case (5, _):
                let blocks = (size - 2) / 8
                let ranges = (0..<blocks).map { "\(o.u32(i + 2 + 8 * $0) ?? 0):\(o.u32(i + 6 + 8 * $0) ?? 0)" }
                parts.append("sack \(blocks) " + ranges.map { "{\($0)}" }.joined())
            case (8, 10): parts.append("TS val \(o.u32(i + 2) ?? 0) ecr \(o.u32(i + 6) ?? 0)")
            default: parts.append("unknown-\(kind)")
            }
            i += size
        }
        return parts.joined(separator: ",")
    }

    static func udp(_ p: Bytes, length: Int, source: String, destination: String) -> String {
        guard let sport = p.u16(0), let dport = p.u16(2) else { return "\(source) > \(destination): [|udp]" }
        let head = "\(source).\(sport) > \(destination).\(dport): "
        guard let udpLength = p.u16(4).map(Int.init) else { return head + "[|udp]" }
        guard udpLength >= 8 else { return head + "UDP, bad length \(udpLength) < 8" }
        guard udpLength <= length else { return head + "UDP, bad length \(udpLength) > \(length)" }
        return head + "UDP, length \(udpLength - 8)"
    }

    // MARK: - Text

    /// The protocol of an unreachable port, as tcpdump names it.
    static func portProtocol(_ number: UInt8) -> String {
        number == 6 ? "tcp" : number == 17 ? "udp" : "ip-proto-\(number)"
    }

    static func mac(_ p: Bytes, at offset: Int) -> String {
        guard let bytes = p.slice(offset, 6) else { return "[|ether]" }
        return bytes.map { hex(Int($0), 2) }.joined(separator: ":")
    }

    static func ipv4Address(_ p: Bytes, at offset: Int) -> String {
        guard let bytes = p.slice(offset, 4) else { return "[|ip]" }
        return IPv4Address(bytes: bytes).description
    }

    static func ipv6Address(_ p: Bytes, at offset: Int) -> String {
        guard let bytes = p.slice(offset, 16), let address = IPv6Address(bytes: bytes) else { return "[|ip6]" }
        return address.description
    }

    static func hex(_ value: Int, _ width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// A bounds-checked window on the frame: every read past its end is nil.
    struct Bytes {
        let storage: [UInt8]
        let start: Int
        let end: Int

        init(_ storage: [UInt8]) { self.init(storage, start: 0, end: storage.count) }
        init(_ storage: [UInt8], start: Int, end: Int) { self.storage = storage; self.start = start; self.end = end }

        var count: Int { end - start }

        func slice(_ offset: Int, _ length: Int) -> ArraySlice<UInt8>? {
            guard offset >= 0, length >= 0, offset <= count, length <= count - offset else { return nil }
            return storage[(start + offset)..<(start + offset + length)]
        }

        func u8(_ offset: Int) -> UInt8? { slice(offset, 1)?.first }

        func u16(_ offset: Int) -> UInt16? {
            guard let b = slice(offset, 2) else { return nil }
            return UInt16(b[b.startIndex]) << 8 | UInt16(b[b.startIndex + 1])
        }

        func u32(_ offset: Int) -> UInt32? {
            guard let b = slice(offset, 4) else { return nil }
            return b.reduce(0) { $0 << 8 | UInt32($1) }
        }

        /// The bytes from `offset` on (empty past the end).
        func from(_ offset: Int) -> Bytes {
            Bytes(storage, start: start + min(max(offset, 0), count), end: end)
        }

        /// At most the first `length` bytes.
        func prefix(_ length: Int) -> Bytes {
            Bytes(storage, start: start, end: start + min(max(length, 0), count))
        }
    }
}
