/// A network as the user defined it (or as `contain` chose it for the default network).
///
/// Stored as `NAME.network` in the network store, one `key=value` per line.
public struct NetworkDefinition: Equatable, Sendable {
    public static let defaultName = "contain"
    public static let defaultBridge = "contain0"
    /// Where subnets are chosen from when none is given: 10.88.0.0/24, 10.88.1.0/24, ...
    public static let automaticPool = try! IPv4Network(parsing: "10.88.0.0/16")
    static let automaticPrefix = 24
    static let maximumNameLength = 64

    public var name: String
    public var bridge: String
    public var subnet: IPv4Network
    public var gateway: IPv4Address
    public var mtu: UInt32?
    /// The IPv6 side of a dual-stack network; nil for an IPv4-only one.
    public var subnet6: IPv6Network?
    /// The bridge's IPv6 address: subnet6's first host unless given; nil without subnet6.
    public var gateway6: IPv6Address?
    /// No NAT, no route out: containers reach each other and the gateway only.
    public var `internal`: Bool

    public init(name: String, bridge: String, subnet: IPv4Network, gateway: IPv4Address? = nil,
                mtu: UInt32? = nil, internal: Bool = false,
                subnet6: IPv6Network? = nil, gateway6: IPv6Address? = nil) throws(NetworkError) {
        try Self.validateName(name)
        try Self.validateInterfaceName(bridge, what: "bridge name")
        let gateway = gateway ?? subnet.firstHost
        guard subnet.isHost(gateway) else {
            throw .invalid("gateway \(gateway) is not a usable address in \(subnet)")
        }
        var resolvedGateway6: IPv6Address?
        if let subnet6 {
            let gateway6 = gateway6 ?? subnet6.firstHost
            guard subnet6.isHost(gateway6) else {
                throw .invalid("gateway \(gateway6) is not a usable address in \(subnet6)")
            }
            resolvedGateway6 = gateway6
        } else if let gateway6 {
            throw .invalid("gateway \(gateway6) needs an IPv6 subnet")
        }
        if let mtu, !(68...65535).contains(mtu) { throw .invalid("invalid --mtu \(mtu): expected 68 to 65535") }
        self.name = name
        self.bridge = bridge
        self.subnet = subnet
        self.gateway = gateway
        self.mtu = mtu
        self.internal = `internal`
        self.subnet6 = subnet6
        self.gateway6 = resolvedGateway6
    }

    /// Network names: letters, digits, `-`, `_`, `.`; starting with a letter or digit.
    public static func validateName(_ name: String) throws(NetworkError) {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= maximumNameLength, isAlphanumeric(bytes[0]),
              bytes.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }),
              name != "none", name != "host", name != "bridge" else {
            throw .invalid("invalid network name `\(name)`: use up to \(maximumNameLength) letters, digits, `-`, `_` or `.` (not none, host or bridge)")
        }
    }

    /// Linux interface names: 1 to 15 bytes, no `/`, `:` or whitespace.
    public static func validateInterfaceName(_ name: String, what: String) throws(NetworkError) {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty else { throw .invalid("invalid \(what): empty") }
        guard bytes.count <= 15 else { throw .invalid("invalid \(what) `\(name)`: longer than 15 characters") }
        guard name != ".", name != "..",
              bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: ":") }) else {
            throw .invalid("invalid \(what) `\(name)`: use letters, digits, `-`, `_` or `.`")
        }
    }

    /// The bridge a network gets when none is named: `ct-` and the network's name, shortened
    /// with a hash when it does not fit the 15 bytes of an interface name.
    public static func automaticBridgeName(for network: String) -> String {
        if network == defaultName { return defaultBridge }
        let clean = String(network.filter { $0 != "." })
        if clean.utf8.count <= 12 { return "ct-" + clean }
        var hash: UInt32 = 2166136261
        for b in network.utf8 { hash = (hash ^ UInt32(b)) &* 16777619 }
        let hex = String(hash & 0xffff, radix: 16)
        return "ct-" + String(clean.prefix(7)) + "-" + String(repeating: "0", count: 4 - hex.count) + hex
    }

    /// The first /24 of the automatic pool that overlaps none of `taken`.
    public static func pickSubnet(avoiding taken: [IPv4Network]) -> IPv4Network? {
        let step = UInt32(1) << UInt32(32 - automaticPrefix)
        var value = automaticPool.network.value
        while automaticPool.contains(IPv4Address(value)) {
            let candidate = IPv4Network(network: IPv4Address(value), prefix: automaticPrefix)
            if !taken.contains(where: { $0.overlaps(candidate) }) { return candidate }
            value += step
        }
        return nil
    }

    private static func isAlphanumeric(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)
    }

    // MARK: file format

    public var serialized: String {
        var text = "name=\(name)\nbridge=\(bridge)\nsubnet=\(subnet)\ngateway=\(gateway)\n"
        if let subnet6 { text += "subnet6=\(subnet6)\n" }
        if let gateway6 { text += "gateway6=\(gateway6)\n" }
        if let mtu { text += "mtu=\(mtu)\n" }
        text += "internal=\(`internal`)\n"
        return text
    }

    public init(parsing text: String) throws(NetworkError) {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let eq = line.firstIndex(of: "=") else { throw .invalid("network file: malformed line `\(line)`") }
            fields[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        guard let name = fields["name"], let bridge = fields["bridge"], let subnetText = fields["subnet"],
              let gatewayText = fields["gateway"], let gateway = IPv4Address(gatewayText) else {
            throw .invalid("network file: name, bridge, subnet and gateway are required")
        }
        var mtu: UInt32?
        if let text = fields["mtu"] {
            guard let value = UInt32(text) else { throw .invalid("network file: invalid mtu `\(text)`") }
            mtu = value
        }
        // Files written before dual stack have neither line.
        var subnet6: IPv6Network?
        if let text = fields["subnet6"] { subnet6 = try IPv6Network(parsing: text) }
        var gateway6: IPv6Address?
        if let text = fields["gateway6"] {
            guard let value = IPv6Address(text) else { throw .invalid("network file: invalid gateway6 `\(text)`") }
            gateway6 = value
        }
        try self.init(name: name, bridge: bridge, subnet: try IPv4Network(parsing: subnetText), gateway: gateway,
                      mtu: mtu, internal: fields["internal"] == "true", subnet6: subnet6, gateway6: gateway6)
    }
}
