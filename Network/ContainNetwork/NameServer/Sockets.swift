import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// The few socket calls the name server makes, with Swift types around the C structures.
enum Sockets {
    /// A UDP or TCP endpoint: an IPv4 or IPv6 address and a port.
    struct Endpoint: Equatable, Sendable, CustomStringConvertible {
        var address: IPAddress
        var port: UInt16

        init(address: IPAddress, port: UInt16) { self.address = address; self.port = port }
        init(address: IPv4Address, port: UInt16) { self.init(address: .v4(address), port: port) }

        /// From what recvfrom/getpeername filled in; nil for another family.
        init?(_ storage: sockaddr_storage) {
            var storage = storage
            switch Int32(storage.ss_family) {
            case AF_INET:
                let a = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in.self) }
                self.init(address: .v4(IPv4Address(UInt32(bigEndian: a.sin_addr.s_addr))), port: UInt16(bigEndian: a.sin_port))
            case AF_INET6:
                let a = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in6.self) }
                let bytes = withUnsafeBytes(of: a.sin6_addr) { Array($0) }
                guard let address = IPv6Address(bytes: bytes) else { return nil }
                self.init(address: .v6(address), port: UInt16(bigEndian: a.sin6_port))
            default:
                return nil
            }
        }

        var family: Int32 { if case .v6 = address { return AF_INET6 } else { return AF_INET } }

        /// Calls `body` with the C address and its length.
        func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
            switch address {
            case .v4(let v4):
                var a = sockaddr_in()
                a.sin_family = sa_family_t(AF_INET)
                a.sin_port = port.bigEndian
                a.sin_addr.s_addr = v4.value.bigEndian
                return withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            case .v6(let v6):
                var a = sockaddr_in6()
                a.sin6_family = sa_family_t(AF_INET6)
                a.sin6_port = port.bigEndian
                withUnsafeMutableBytes(of: &a.sin6_addr) { raw in for (i, b) in v6.bytes.enumerated() { raw[i] = b } }
                return withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
            }
        }

        var description: String {
            switch address {
            case .v4(let a): return "\(a):\(port)"
            case .v6(let a): return "[\(a)]:\(port)"
            }
        }
    }

    static func socket(_ type: Int32, family: Int32 = AF_INET) throws -> Int32 {
        try sys("socket") { Glibc.socket(family, type | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0) }
    }

    /// A connection from a listening socket, non-blocking and close-on-exec; -1 when none waits.
    static func accept(_ listener: Int32) -> Int32 {
        let fd = Glibc.accept(listener, nil, nil)
        guard fd >= 0 else { return -1 }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return fd
    }

    static var udp: Int32 { Int32(SOCK_DGRAM.rawValue) }
    static var tcp: Int32 { Int32(SOCK_STREAM.rawValue) }

    /// A socket bound to `endpoint` (and listening, for TCP). The descriptor is non-blocking;
    /// an IPv6 one is IPv6 only.
    static func listen(_ type: Int32, on endpoint: Endpoint) throws -> Int32 {
        let fd = try socket(type, family: endpoint.family)
        do {
            var one: Int32 = 1
            if type == tcp { setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) }
            if endpoint.family == AF_INET6 { setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size)) }
            try sys("bind", path: endpoint.description) { endpoint.withSockaddr { bind(fd, $0, $1) } }
            if type == tcp { try sys("listen", path: endpoint.description) { Glibc.listen(fd, 64) } }
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    /// A connected UDP or TCP socket to `endpoint`; TCP's connect may still be in progress.
    static func connect(_ type: Int32, to endpoint: Endpoint) throws -> Int32 {
        let fd = try socket(type, family: endpoint.family)
        let rc = endpoint.withSockaddr { Glibc.connect(fd, $0, $1) }
        if rc != 0 && errno != EINPROGRESS {
            let error = SystemError.last("connect", path: endpoint.description)
            close(fd)
            throw error
        }
        return fd
    }

    /// One datagram and its sender; nil when none is waiting.
    static func receive(_ fd: Int32, into buffer: inout [UInt8]) -> (bytes: [UInt8], from: Endpoint)? {
        var from = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        while true {
            let n = buffer.withUnsafeMutableBytes { raw in
                withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, raw.baseAddress, raw.count, 0, $0, &length) }
                }
            }
            guard n >= 0 else { return nil }
            // A sender of another family cannot be answered: skip it.
            if let endpoint = Endpoint(from) { return (Array(buffer[0..<n]), endpoint) }
        }
    }

    static func send(_ fd: Int32, _ bytes: [UInt8], to endpoint: Endpoint) {
        _ = bytes.withUnsafeBytes { raw in
            endpoint.withSockaddr { sendto(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL), $0, $1) }
        }
    }

    /// The peer of a connected socket.
    static func peer(_ fd: Int32) -> Endpoint? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) } }
        return rc == 0 ? Endpoint(storage) : nil
    }

    /// Waits until `fd` has `events` or `deadline` (monotonic seconds) passes.
    static func wait(_ fd: Int32, _ events: Int16, until deadline: Double) -> Bool {
        while true {
            let left = deadline - now()
            guard left > 0 else { return false }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let rc = poll(&p, 1, Int32(left * 1000) + 1)
            if rc > 0 { return true }
            if rc < 0 && errno == EINTR { continue }
            if rc == 0 { return false }
            return false
        }
    }

    /// Reads exactly `count` bytes from a non-blocking stream socket before `deadline`.
    static func read(_ fd: Int32, count: Int, until deadline: Double) -> [UInt8]? {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: max(count, 1))
        while result.count < count {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, count - result.count) }
            if n > 0 { result += buffer[0..<n]; continue }
            if n == 0 { return nil }
            guard errno == EAGAIN || errno == EINTR, wait(fd, Int16(POLLIN), until: deadline) else { return nil }
        }
        return result
    }

    /// Writes all of `bytes` to a non-blocking stream socket before `deadline`.
    static func write(_ fd: Int32, _ bytes: [UInt8], until deadline: Double) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n > 0 { sent += n; continue }
            guard n < 0, errno == EAGAIN || errno == EINTR, wait(fd, Int16(POLLOUT), until: deadline) else { return false }
        }
        return true
    }

    /// One line of the control protocol (at most 4 KiB), without its newline; nil when the
    /// peer closed or `deadline` passed before the newline came.
    static func readLine(_ fd: Int32, until deadline: Double) -> String? {
        var line: [UInt8] = []
        while line.last != UInt8(ascii: "\n"), line.count < 4096, let byte = read(fd, count: 1, until: deadline) { line += byte }
        guard line.last == UInt8(ascii: "\n") else { return nil }
        return String(decoding: line.dropLast(), as: UTF8.self)
    }

    /// A DNS message over a stream: two bytes of length, then the message.
    static func readMessage(_ fd: Int32, until deadline: Double) -> [UInt8]? {
        guard let prefix = read(fd, count: 2, until: deadline) else { return nil }
        let length = Int(prefix[0]) << 8 | Int(prefix[1])
        guard length > 0 else { return nil }
        return read(fd, count: length, until: deadline)
    }

    static func writeMessage(_ fd: Int32, _ message: [UInt8], until deadline: Double) -> Bool {
        guard message.count <= 0xffff else { return false }
        return write(fd, [UInt8(message.count >> 8), UInt8(message.count & 0xff)] + message, until: deadline)
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    // MARK: Unix sockets

    /// The address of a Unix socket at `name` in the directory open as `directory`: through
    /// `/proc/self/fd/N/`, so that a long directory path never exceeds `sun_path`.
    static func unixAddress(directory: Int32, name: String) -> sockaddr_un {
        var a = sockaddr_un()
        a.sun_family = sa_family_t(AF_UNIX)
        let path = Array("/proc/self/fd/\(directory)/\(name)".utf8)
        withUnsafeMutableBytes(of: &a.sun_path) { raw in
            for (i, byte) in path.prefix(raw.count - 1).enumerated() { raw[i] = byte }
        }
        return a
    }

    static func unixSocket() throws -> Int32 {
        try sys("socket") { Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
    }

    static func withUnixAddress<T>(_ a: inout sockaddr_un, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
    }
}

/// Runs `body` on a thread of its own, detached (the name server's TCP connections).
func detachedThread(_ body: @escaping @Sendable () -> Void) {
    final class Box: @unchecked Sendable { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { raw in
        let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
        box.body()
        return nil
    }, box)
    if rc == 0 { pthread_detach(thread) } else { Unmanaged<Box>.fromOpaque(box).release() }
}
