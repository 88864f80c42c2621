import ContainSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Published TCP ports on the host's `[::1]`, which DNAT cannot serve (a packet from ::1 may
/// never leave the host, and IPv6 has no route_localnet): the supervisor's own `[::]` sockets
/// accept those connections and each is relayed to the container, on one thread that does
/// nothing else (it inherits the supervisor's blocked signals). Connections beyond
/// `maxConnections` are refused by closing them; a relay that cannot reach the container
/// closes the client's side.
final class LoopbackProxy: @unchecked Sendable {
    static let maxConnections = 256
    static let bufferSize = 65536

    /// One direction of a relayed connection: what was read from `from` and not yet written.
    private struct Pipe {
        var from: Int32
        var to: Int32
        var pending: [UInt8] = []
        var ended = false
    }

    private final class Connection {
        var client: Int32
        var upstream: Int32
        var connected = false
        var toContainer: Pipe
        var toClient: Pipe
        init(client: Int32, upstream: Int32) {
            self.client = client
            self.upstream = upstream
            toContainer = Pipe(from: client, to: upstream)
            toClient = Pipe(from: upstream, to: client)
        }
        var finished: Bool { toContainer.ended && toClient.ended && toContainer.pending.isEmpty && toClient.pending.isEmpty }
    }

    private let listeners: [(fd: Int32, target: Sockets.Endpoint)]
    private let wake: [Int32]
    private let done = Atomic<Bool>(false)

    init?(listeners: [(Int32, Sockets.Endpoint)]) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return nil }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        for (fd, _) in listeners { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        self.listeners = listeners.map { (fd: $0.0, target: $0.1) }
        wake = fds
        detachedThread { [self] in run() }
    }

    /// Ends the relay (every connection closed) and waits until its thread no longer uses the
    /// listeners, which the caller then closes.
    func stop() {
        var byte: UInt8 = 1
        _ = write(wake[1], &byte, 1)
        let deadline = Sockets.now() + 2
        while !done.load(ordering: .acquiring) && Sockets.now() < deadline { usleep(1000) }
        close(wake[1])
    }

    private func run() {
        var connections: [Connection] = []
        defer {
            for c in connections { close(c.client); close(c.upstream) }
            close(wake[0])
            done.store(true, ordering: .releasing)
        }
        var buffer = [UInt8](repeating: 0, count: Self.bufferSize)
        while true {
            var fds = [pollfd(fd: wake[0], events: Int16(POLLIN), revents: 0)]
            fds += listeners.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            for c in connections {
                fds.append(pollfd(fd: c.client, events: events(reading: c.toContainer, writing: c.toClient), revents: 0))
                fds.append(pollfd(fd: c.upstream, events: c.connected ? events(reading: c.toClient, writing: c.toContainer) : Int16(POLLOUT),
                                  revents: 0))
            }
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[0].revents != 0 { return }
            for (i, listener) in listeners.enumerated() where fds[1 + i].revents != 0 {
                let client = Sockets.accept(listener.fd)
                guard client >= 0 else { continue }
                guard connections.count < Self.maxConnections, let upstream = try? Sockets.connect(Sockets.tcp, to: listener.target) else {
                    close(client)
                    continue
                }
                connections.append(Connection(client: client, upstream: upstream))
            }
            let base = 1 + listeners.count
            for (i, c) in connections.enumerated() where base + 2 * i + 1 < fds.count {
                let clientEvents = fds[base + 2 * i].revents, upstreamEvents = fds[base + 2 * i + 1].revents
                if !c.connected && upstreamEvents != 0 {
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(c.upstream, SOL_SOCKET, SO_ERROR, &error, &length)
                    if error != 0 { c.toContainer.ended = true; c.toClient.ended = true; c.toContainer.pending = []; c.toClient.pending = [] }
                    c.connected = error == 0
                    continue
                }
                if clientEvents != 0 { pump(&c.toContainer, &buffer); flush(&c.toClient) }
                if upstreamEvents != 0 { pump(&c.toClient, &buffer); flush(&c.toContainer) }
            }
            connections.removeAll { c in
                guard c.finished else { return false }
                close(c.client)
                close(c.upstream)
                return true
            }
        }
    }

    /// Read while nothing waits to be written (back pressure), write while something does.
    private func events(reading: Pipe, writing: Pipe) -> Int16 {
        var events: Int16 = 0
        if !reading.ended && reading.pending.isEmpty { events |= Int16(POLLIN) }
        if !writing.pending.isEmpty { events |= Int16(POLLOUT) }
        return events
    }

    /// Reads what `pipe.from` has and writes as much as `pipe.to` takes; at the end of its
    /// input, the other side's writing half is shut once everything is written.
    private func pump(_ pipe: inout Pipe, _ buffer: inout [UInt8]) {
        if !pipe.ended && pipe.pending.isEmpty {
            let n = buffer.withUnsafeMutableBytes { read(pipe.from, $0.baseAddress, $0.count) }
            if n > 0 {
                pipe.pending = Array(buffer[0..<n])
            } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                pipe.ended = true
            }
        }
        flush(&pipe)
    }

    private func flush(_ pipe: inout Pipe) {
        if !pipe.pending.isEmpty {
            let n = pipe.pending.withUnsafeBytes { send(pipe.to, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                pipe.pending.removeFirst(n)
            } else if n < 0 && errno != EAGAIN && errno != EINTR {
                pipe.pending = []
                pipe.ended = true
            }
        }
        if pipe.ended && pipe.pending.isEmpty { shutdown(pipe.to, Int32(SHUT_WR)) }
    }
}
