/// `-p [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp]`: a port of the host forwarded to the container.
public struct PortMapping: Hashable, Sendable, CustomStringConvertible {
    public enum Transport: String, Sendable { case tcp, udp }

    public var hostAddress: IPv4Address?
    public var hostPort: UInt16
    public var containerPort: UInt16
    public var transport: Transport

    public init(hostAddress: IPv4Address? = nil, hostPort: UInt16, containerPort: UInt16, transport: Transport = .tcp) {
        self.hostAddress = hostAddress
        self.hostPort = hostPort
        self.containerPort = containerPort
        self.transport = transport
    }

    public init(parsing text: String) throws(NetworkError) {
        let bad = NetworkError.invalid("invalid -p `\(text)`: expected [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp], e.g. 8080:80")
        var body = Substring(text)
        var transport = Transport.tcp
        if let slash = body.firstIndex(of: "/") {
            guard let t = Transport(rawValue: String(body[body.index(after: slash)...])) else { throw bad }
            transport = t
            body = body[..<slash]
        }
        let parts = body.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3 else { throw bad }
        var address: IPv4Address?
        if parts.count == 3 {
            guard let a = IPv4Address(parts[0]) else { throw bad }
            address = a
        }
        func port(_ s: String) throws(NetworkError) -> UInt16 {
            guard !s.isEmpty, s.allSatisfy(\.isASCII), s.allSatisfy(\.isNumber), let p = UInt16(s), p > 0 else { throw bad }
            return p
        }
        self.init(hostAddress: address, hostPort: try port(parts[parts.count - 2]),
                  containerPort: try port(parts[parts.count - 1]), transport: transport)
    }

    /// Whether the two would claim the same packets on the host.
    public func clashes(with other: PortMapping) -> Bool {
        hostPort == other.hostPort && transport == other.transport
            && (hostAddress == nil || other.hostAddress == nil || hostAddress == other.hostAddress)
    }

    public var description: String {
        (hostAddress.map { "\($0):" } ?? "") + "\(hostPort):\(containerPort)/\(transport.rawValue)"
    }
}
