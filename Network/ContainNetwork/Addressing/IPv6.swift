/// An IPv6 address: 16 bytes in network order inside, RFC 5952 text outside.
public struct IPv6Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Always 16 bytes, network order, as netlink and nftables want them.
    public let bytes: [UInt8]

    /// Nil unless exactly 16 bytes.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        self.bytes = Array(bytes)
    }

    public init(high: UInt64, low: UInt64) {
        bytes = (0..<8).map { UInt8(truncatingIfNeeded: high >> UInt64(56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> UInt64(56 - 8 * $0)) }
    }

    /// RFC 4291 text: eight groups of 1 to 4 hex digits (any case), one `::` for a run of zero
    /// groups, and a dotted IPv4 address in place of the last two groups (`::ffff:192.0.2.1`).
    /// Nil for anything else, zone ids (`fe80::1%eth0`) and surrounding whitespace included.
    public init?(_ text: String) {
        let chars = Array(text.utf8)
        let colon = UInt8(ascii: ":")
        var gap: Int?
        for i in chars.indices.dropLast() where chars[i] == colon && chars[i + 1] == colon {
            guard gap == nil else { return nil }    // a second `::`, or `:::`
            gap = i
        }
        var groups: [UInt16]
        if let gap {
            guard let head = Self.groups(chars[..<gap], lastMayBeIPv4: false),
                  let tail = Self.groups(chars[(gap + 2)...], lastMayBeIPv4: true),
                  head.count + tail.count <= 7 else { return nil }
            groups = head + [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard let all = Self.groups(chars[...], lastMayBeIPv4: true), all.count == 8 else { return nil }
            groups = all
        }
        bytes = groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
    }

    /// `1:2:ab`: colon-separated hex groups, none empty; the last may be a dotted IPv4 address,
    /// which counts as two. Empty text is no groups.
    private static func groups(_ text: ArraySlice<UInt8>, lastMayBeIPv4: Bool) -> [UInt16]? {
        guard !text.isEmpty else { return [] }
        let pieces = text.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        var result: [UInt16] = []
        for (i, piece) in pieces.enumerated() {
            if lastMayBeIPv4, i == pieces.count - 1, piece.contains(UInt8(ascii: ".")) {
                guard let v4 = IPv4Address(String(decoding: piece, as: UTF8.self)) else { return nil }
                result += [UInt16(v4.value >> 16), UInt16(v4.value & 0xffff)]
                continue
            }
            guard (1...4).contains(piece.count) else { return nil }
            var group: UInt16 = 0
            for c in piece {
                guard let digit = hexValue(c) else { return nil }
                group = group << 4 | UInt16(digit)
            }
            result.append(group)
        }
        return result
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    public var high: UInt64 { bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) } }
    public var low: UInt64 { bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) } }

    /// `::`, any address (as a bind or publish address), and `::1`.
    public static let unspecified = IPv6Address(high: 0, low: 0)
    public static let loopback = IPv6Address(high: 0, low: 1)

    public var isLoopback: Bool { high == 0 && low == 1 }
    /// fe80::/10
    public var isLinkLocal: Bool { bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 }
    /// fc00::/7 (RFC 4193)
    public var isUniqueLocal: Bool { bytes[0] & 0xfe == 0xfc }
    /// ff00::/8
    public var isMulticast: Bool { bytes[0] == 0xff }

    /// RFC 5952: lowercase, no leading zeros, the longest run of two or more zero groups (the
    /// first of equals) as `::`. IPv4-mapped addresses (::ffff:0:0/96) end in dotted form,
    /// `::ffff:192.0.2.1`, as RFC 5952 section 5 recommends and glibc's inet_ntop prints them.
    public var description: String {
        let groups = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
        if groups[0..<5].allSatisfy({ $0 == 0 }) && groups[5] == 0xffff {
            return "::ffff:\(IPv4Address(bytes: bytes[12...]))"
        }
        var best = (start: 0, count: 0)
        var run = (start: 0, count: 0)
        for (i, group) in groups.enumerated() {
            if group == 0 {
                if run.count == 0 { run.start = i }
                run.count += 1
                if run.count > best.count { best = run }
            } else {
                run.count = 0
            }
        }
        let hex = { (part: ArraySlice<UInt16>) in part.map { String($0, radix: 16) }.joined(separator: ":") }
        guard best.count >= 2 else { return hex(groups[...]) }
        return hex(groups[..<best.start]) + "::" + hex(groups[(best.start + best.count)...])
    }

    public static func < (a: IPv6Address, b: IPv6Address) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
}

/// An IPv6 subnet in CIDR form: `fd00:1::/64`.
public struct IPv6Network: Hashable, Sendable, CustomStringConvertible {
    public let network: IPv6Address
    public let prefix: Int

    /// How many random global IDs `pickUniqueLocal` tries before it gives up.
    static let uniqueLocalAttempts = 16

    public init(network: IPv6Address, prefix: Int) {
        let mask = Self.mask(prefix)
        self.prefix = prefix
        self.network = IPv6Address(high: network.high & mask.high, low: network.low & mask.low)
    }

    /// Parses `fd00:1::/64`; the address must be the network's own (no host bits set).
    public init(parsing text: String) throws(NetworkError) {
        let halves = text.split(separator: "/", omittingEmptySubsequences: false)
        guard halves.count == 2, let address = IPv6Address(String(halves[0])),
              halves[1].allSatisfy(\.isNumber), let prefix = Int(halves[1]), (0...128).contains(prefix) else {
            throw .invalid("invalid subnet `\(text)`: expected an IPv6 network such as fd00:1::/64")
        }
        let mask = Self.mask(prefix)
        guard address.high & ~mask.high == 0, address.low & ~mask.low == 0 else {
            throw .invalid("invalid subnet `\(text)`: host bits are set; did you mean \(IPv6Network(network: address, prefix: prefix))?")
        }
        guard prefix <= 120 else {
            throw .invalid("invalid subnet `\(text)`: too small for a gateway and containers (at most /120)")
        }
        self.init(network: address, prefix: prefix)
    }

    /// The netmask of a /`prefix`, as its high and low halves.
    public static func mask(_ prefix: Int) -> (high: UInt64, low: UInt64) {
        let high: UInt64 = prefix >= 64 ? .max : prefix <= 0 ? 0 : .max << UInt64(64 - prefix)
        let low: UInt64 = prefix >= 128 ? .max : prefix <= 64 ? 0 : .max << UInt64(128 - prefix)
        return (high, low)
    }

    /// The first address after the network's own, the gateway by default.
    public var firstHost: IPv6Address {
        let low = network.low &+ 1
        return IPv6Address(high: low == 0 ? network.high &+ 1 : network.high, low: low)
    }

    /// The network's address plus `n`, when that is still inside (n ≥ 1); else nil.
    public func host(_ n: UInt64) -> IPv6Address? {
        guard n >= 1 else { return nil }
        let (low, carry) = network.low.addingReportingOverflow(n)
        let (high, overflow) = network.high.addingReportingOverflow(carry ? 1 : 0)
        guard !overflow else { return nil }
        let address = IPv6Address(high: high, low: low)
        return contains(address) ? address : nil
    }

    public func contains(_ address: IPv6Address) -> Bool {
        let mask = self.mask
        return address.high & mask.high == network.high && address.low & mask.low == network.low
    }

    public func overlaps(_ other: IPv6Network) -> Bool {
        let mask = Self.mask(min(prefix, other.prefix))
        return network.high & mask.high == other.network.high & mask.high
            && network.low & mask.low == other.network.low & mask.low
    }

    /// Whether `address` may be given to a container or gateway: inside, and not the network's
    /// own address (the subnet-router anycast address, RFC 4291 section 2.6.1).
    public func isHost(_ address: IPv6Address) -> Bool { contains(address) && address != network }

    public var mask: (high: UInt64, low: UInt64) { Self.mask(prefix) }
    public var description: String { "\(network)/\(prefix)" }

    /// A random unique-local /64 (RFC 4193 section 3.2: `fd`, a 40-bit random global ID, subnet
    /// ID 0) that overlaps none of `taken`. `random` fills its buffer with random bytes; each
    /// attempt draws a new global ID, and after `uniqueLocalAttempts` clashes the answer is nil.
    public static func pickUniqueLocal(avoiding taken: [IPv6Network],
                                       random: (inout [UInt8]) -> Void = IPv6Network.systemRandom) -> IPv6Network? {
        for _ in 0..<uniqueLocalAttempts {
            var globalID = [UInt8](repeating: 0, count: 5)
            random(&globalID)
            var bytes = [UInt8](repeating: 0, count: 16)
            bytes[0] = 0xfd
            for (i, b) in globalID.prefix(5).enumerated() { bytes[1 + i] = b }
            let candidate = IPv6Network(network: IPv6Address(bytes: bytes)!, prefix: 64)
            if !taken.contains(where: { $0.overlaps(candidate) }) { return candidate }
        }
        return nil
    }

    /// Fills `bytes` from the system's generator (getrandom(2) on Linux, through the standard
    /// library's SystemRandomNumberGenerator).
    public static func systemRandom(_ bytes: inout [UInt8]) {
        var generator = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = generator.next() }
    }
}
