/// `-p [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp]`: a port of the host forwarded to the container.
/// HOSTIP is an IPv4 address, or an IPv6 one in brackets (`[::]:8080:80`: every IPv6 address
/// of the host, and IPv6 only, as in docker); without it, every address of both families.
public struct PortMapping: Hashable, Sendable, CustomStringConvertible {
    public enum Transport: String, Sendable { case tcp, udp }

    public var hostAddress: IPv4Address?
    /// An IPv6 host address (`::`: any); set only when `hostAddress` is not.
    public var hostAddress6: IPv6Address?
    public var hostPort: UInt16
    public var containerPort: UInt16
    public var transport: Transport

    public init(hostAddress: IPv4Address? = nil, hostAddress6: IPv6Address? = nil, hostPort: UInt16, containerPort: UInt16,
                transport: Transport = .tcp) {
        self.hostAddress = hostAddress
        self.hostAddress6 = hostAddress6
        self.hostPort = hostPort
        self.containerPort = containerPort
        self.transport = transport
    }

    public init(parsing text: String) throws(NetworkError) {
        let bad = NetworkError.invalid("invalid -p `\(text)`: expected [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp], e.g. 8080:80 or [::]:8080:80")
        var body = Substring(text)
        var transport = Transport.tcp
        if let slash = body.firstIndex(of: "/") {
            guard let t = Transport(rawValue: String(body[body.index(after: slash)...])) else { throw bad }
            transport = t
            body = body[..<slash]
        }
        var address6: IPv6Address?
        if body.hasPrefix("[") {
            guard let close = body.firstIndex(of: "]"), let a = IPv6Address(String(body[body.index(after: body.startIndex)..<close])),
                  body[body.index(after: close)...].hasPrefix(":") else { throw bad }
            address6 = a
            body = body[body.index(close, offsetBy: 2)...]
        }
        let parts = body.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || (parts.count == 3 && address6 == nil) else { throw bad }
        var address: IPv4Address?
        if parts.count == 3 {
            guard let a = IPv4Address(parts[0]) else { throw bad }
            address = a
        }
        func port(_ s: String) throws(NetworkError) -> UInt16 {
            guard !s.isEmpty, s.allSatisfy(\.isASCII), s.allSatisfy(\.isNumber), let p = UInt16(s), p > 0 else { throw bad }
            return p
        }
        self.init(hostAddress: address, hostAddress6: address6, hostPort: try port(parts[parts.count - 2]),
                  containerPort: try port(parts[parts.count - 1]), transport: transport)
    }

    /// Whether it takes IPv4 or IPv6 packets of the host.
    public var takesIPv4: Bool { hostAddress6 == nil }
    public var takesIPv6: Bool { hostAddress == nil }

    /// Whether the two would claim the same packets on the host.
    public func clashes(with other: PortMapping) -> Bool {
        guard hostPort == other.hostPort && transport == other.transport else { return false }
        let four = takesIPv4 && other.takesIPv4 && (hostAddress == nil || other.hostAddress == nil || hostAddress == other.hostAddress)
        let any = IPv6Address.unspecified
        let six = takesIPv6 && other.takesIPv6
            && ((hostAddress6 ?? any) == any || (other.hostAddress6 ?? any) == any || hostAddress6 == other.hostAddress6)
        return four || six
    }

    /// The host side as `ps` shows it: `0.0.0.0:8080`, `127.0.0.1:8080`, `[::]:8080`.
    public var hostSide: String {
        if let hostAddress6 { return "[\(hostAddress6)]:\(hostPort)" }
        return "\(hostAddress.map(String.init(describing:)) ?? "0.0.0.0"):\(hostPort)"
    }

    public var description: String {
        (hostAddress.map { "\($0):" } ?? hostAddress6.map { "[\($0)]:" } ?? "") + "\(hostPort):\(containerPort)/\(transport.rawValue)"
    }
}
