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
                if port.takesIPv4, let fd = try bind(port, ipv6: false) { held.fds.append(fd) }
                guard port.takesIPv6, let fd = try bind(port, ipv6: true) else { continue }
                held.fds.append(fd)
                // Where connections to [::1] arrive: any IPv6 address.
                if port.transport == .tcp && (port.hostAddress6 ?? .unspecified) == .unspecified {
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

    /// A socket bound, not listening and without SO_REUSEADDR, to `HOSTIP:PORT` (`0.0.0.0`
    /// without an address) or, `ipv6`, to `[ADDR6]:PORT` (`[::]`), IPv6 only. nil: a host
    /// without IPv6, for a port that did not ask for an IPv6 address.
    private static func bind(_ port: PortMapping, ipv6: Bool) throws -> Int32? {
        let endpoint = Sockets.Endpoint(address: ipv6 ? .v6(port.hostAddress6 ?? .unspecified) : .v4(port.hostAddress ?? IPv4Address(0)),
                                        port: port.hostPort)
        let name = (ipv6 ? "\(endpoint)" : "\(port.hostAddress.map { "\($0):" } ?? "")\(port.hostPort)") + "/\(port.transport.rawValue)"
        let optional = ipv6 && port.hostAddress6 == nil
        let fd: Int32
        do {
            fd = try Sockets.socket(port.transport == .tcp ? Sockets.tcp : Sockets.udp, family: endpoint.family)
        } catch let error as SystemError where optional && error.errno == EAFNOSUPPORT {
            return nil
        }
        if ipv6 {
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        guard endpoint.withSockaddr({ Glibc.bind(fd, $0, $1) }) == 0 else {
            let err = errno
            close(fd)
            if err == EADDRINUSE { throw NetworkError.conflict("port \(name) is already in use on the host") }
            if optional && (err == EADDRNOTAVAIL || err == EAFNOSUPPORT) { return nil }
            if err == EADDRNOTAVAIL {
                throw NetworkError.invalid("-p \(port): \(ipv6 ? "\(port.hostAddress6 ?? .unspecified)" : "\(port.hostAddress ?? IPv4Address(0))") is not an address of this host")
            }
            throw SystemError("bind", path: name, errno: err)
        }
        return fd
    }
}
