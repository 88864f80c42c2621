/// An IPv4 address, host order inside, dotted quad outside.
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let value: UInt32

    public init(_ value: UInt32) { self.value = value }

    /// `10.88.0.1`; nil for anything else (no leading zeros, no shortened forms).
    /// Four decimal octets, each 0-255 without a leading zero; read byte by byte (every lease
    /// of every network is parsed on each start).
    public init?(_ text: String) {
        var value: UInt32 = 0, octet: UInt32 = 0, digits = 0, dots = 0, leadingZero = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, dots < 3 else { return nil }
                value = value << 8 | octet
                octet = 0; digits = 0; dots += 1
            } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                guard digits < 3, !leadingZero else { return nil }
                leadingZero = digits == 0 && byte == UInt8(ascii: "0")
                octet = octet * 10 + UInt32(byte - UInt8(ascii: "0"))
                digits += 1
                guard octet <= 255 else { return nil }
            } else {
                return nil
            }
            if byte == UInt8(ascii: ".") { leadingZero = false }
        }
        guard dots == 3, digits > 0 else { return nil }
        self.value = value << 8 | octet
    }

    /// Network byte order, as netlink and nftables want it.
    public var bytes: [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    public init(bytes: some Collection<UInt8>) {
        self.value = bytes.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    public var description: String { bytes.map(String.init).joined(separator: ".") }
    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }
}

/// An IPv4 subnet in CIDR form: `10.88.0.0/16`.
public struct IPv4Network: Hashable, Sendable, CustomStringConvertible {
    public let network: IPv4Address
    public let prefix: Int

    public init(network: IPv4Address, prefix: Int) {
        self.prefix = prefix
        self.network = IPv4Address(network.value & Self.mask(prefix))
    }

    /// Parses `10.88.0.0/16`; the address must be the network's own (no host bits set).
    public init(parsing text: String) throws(NetworkError) {
        let halves = text.split(separator: "/", omittingEmptySubsequences: false)
        guard halves.count == 2, let address = IPv4Address(String(halves[0])),
              halves[1].allSatisfy(\.isNumber), let prefix = Int(halves[1]), (0...32).contains(prefix) else {
            throw .invalid("invalid subnet `\(text)`: expected an IPv4 network such as 10.89.0.0/24")
        }
        guard address.value & ~Self.mask(prefix) == 0 else {
            throw .invalid("invalid subnet `\(text)`: host bits are set; did you mean \(IPv4Network(network: address, prefix: prefix))?")
        }
        guard prefix <= 30 else { throw .invalid("invalid subnet `\(text)`: too small for a gateway and a container (at most /30)") }
        self.init(network: address, prefix: prefix)
    }

    public static func mask(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : UInt32.max << UInt32(32 - prefix) }
    public var mask: UInt32 { Self.mask(prefix) }
    public var broadcast: IPv4Address { IPv4Address(network.value | ~mask) }
    /// The first usable address, the gateway by default.
    public var firstHost: IPv4Address { IPv4Address(network.value + 1) }
    public var lastHost: IPv4Address { IPv4Address(broadcast.value - 1) }

    public func contains(_ address: IPv4Address) -> Bool { address.value & mask == network.value }
    public func overlaps(_ other: IPv4Network) -> Bool {
        let shorter = min(prefix, other.prefix)
        return network.value & Self.mask(shorter) == other.network.value & Self.mask(shorter)
    }
    /// Whether `address` may be given to a container or gateway: inside, not network or broadcast.
    public func isHost(_ address: IPv4Address) -> Bool {
        contains(address) && address != network && address != broadcast
    }

    public var description: String { "\(network)/\(prefix)" }
}

/// Errors of the network module, each one line for the user.
public enum NetworkError: Error, Equatable, CustomStringConvertible, Sendable {
    case invalid(String)
    case conflict(String)
    case notFound(String)
    case exhausted(String)

    public var description: String {
        switch self {
        case .invalid(let m), .conflict(let m), .notFound(let m), .exhausted(let m): return m
        }
    }
}
