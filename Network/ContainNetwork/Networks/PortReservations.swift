import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// Published ports held on the host for as long as their container lives: one socket bound to
/// `HOSTIP:HOSTPORT` (`0.0.0.0` without an address) per port, and one on `[::]:HOSTPORT` (IPv6
/// only) for a port without an address, in the process that supervises the container. Binding
/// is the check: a port a host service already uses is refused, as docker refuses it, instead
/// of DNAT silently taking that service's traffic; and while it is held no host service can
/// bind it. The sockets are bound without SO_REUSEADDR (so another bind fails even if it sets
/// it); nothing reaches them, since the port's traffic is DNATed before it could be delivered
/// locally, with one exception: IPv6 has no route_localnet, so the table lets connections to
/// `[::1]` through, and a TCP port's `[::]` socket listens for them and relays each one to the
/// container (LoopbackProxy), as docker's userland proxy does.
public final class PortReservations {
    private var fds: [Int32] = []
    /// The listening `[::]` sockets of TCP ports, with the container port each leads to.
    private var loopbackListeners: [(fd: Int32, containerPort: UInt16)] = []
    private var proxy: LoopbackProxy?

    public init() {}

    /// Binds every port, or none: on the first one in use, what was bound is let go.
    public static func reserve(_ ports: [PortMapping]) throws -> PortReservations {
        let held = PortReservations()
        do {
            for port in ports {
                if port.takesIPv4 { held.fds.append(try bind(port)) }
                guard port.hostAddress == nil, let fd = try bind6(port) else { continue }
                held.fds.append(fd)
                // Where connections to [::1] arrive: any IPv6 address.
                if port.transport == .tcp && (port.hostAddress6 ?? IPv6Address(high: 0, low: 0)) == IPv6Address(high: 0, low: 0) {
                    try sys("listen", path: "[::]:\(port.hostPort)") { listen(fd, 64) }
                    held.loopbackListeners.append((fd, port.containerPort))
                }
            }
        } catch {
            held.release()
            throw error
        }
        return held
    }

    /// Relays connections to `[::1]:HOSTPORT` to `destination` (the container's address on the
    /// network that publishes the ports), on a thread of its own, until `release`.
    public func relayLoopback(to destination: IPAddress) {
        guard proxy == nil, !loopbackListeners.isEmpty else { return }
        proxy = LoopbackProxy(listeners: loopbackListeners.map { ($0.fd, Sockets.Endpoint(address: destination, port: $0.containerPort)) })
    }

    public func release() {
        // The relay first: it stops using the listeners before they are closed.
        proxy?.stop()
        proxy = nil
        loopbackListeners = []
        for fd in fds { close(fd) }
        fds.removeAll()
    }

    deinit { release() }

    /// `[ADDR6]:PORT` (`[::]` without an address) with IPV6_V6ONLY; nil on a host without IPv6
    /// (unless an IPv6 host address was asked for).
    private static func bind6(_ port: PortMapping) throws -> Int32? {
        let type: Int32 = port.transport == .tcp ? 1 : 2
        let fd = socket(AF_INET6, type | 0o2000000, 0)
        let name = "[\(port.hostAddress6 ?? IPv6Address(high: 0, low: 0))]:\(port.hostPort)/\(port.transport.rawValue)"
        guard fd >= 0 else {
            if errno == EAFNOSUPPORT && port.hostAddress6 == nil { return nil }
            throw SystemError.last("socket", path: name)
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = port.hostPort.bigEndian
        if let host = port.hostAddress6 {
            withUnsafeMutableBytes(of: &address.sin6_addr) { raw in for (i, b) in host.bytes.enumerated() { raw[i] = b } }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        guard result == 0 else {
            let err = errno
            close(fd)
            if err == EADDRINUSE { throw NetworkError.conflict("port \(name) is already in use on the host") }
            if let host = port.hostAddress6, err == EADDRNOTAVAIL { throw NetworkError.invalid("-p \(port): \(host) is not an address of this host") }
            if err == EADDRNOTAVAIL || err == EAFNOSUPPORT { return nil }
            throw SystemError("bind", path: name, errno: err)
        }
        return fd
    }

    private static func bind(_ port: PortMapping) throws -> Int32 {
        // SOCK_STREAM 1, SOCK_DGRAM 2, SOCK_CLOEXEC 0o2000000 (<bits/socket_type.h>): Glibc's
        // Swift overlay spells these differently in the static SDK, so the values themselves.
        let type: Int32 = port.transport == .tcp ? 1 : 2
        let fd = socket(AF_INET, type | 0o2000000, 0)
        guard fd >= 0 else { throw SystemError.last("socket", path: port.description) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.hostPort.bigEndian
        address.sin_addr.s_addr = (port.hostAddress?.value ?? 0).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let err = errno
            close(fd)
            let name = "\(port.hostAddress.map { "\($0):" } ?? "")\(port.hostPort)/\(port.transport.rawValue)"
            switch err {
            case EADDRINUSE: throw NetworkError.conflict("port \(name) is already in use on the host")
            case EADDRNOTAVAIL: throw NetworkError.invalid("-p \(port): \(port.hostAddress.map(String.init(describing:)) ?? "") is not an address of this host")
            default: throw SystemError("bind", path: name, errno: err)
            }
        }
        return fd
    }
}
