import CContainShim
import ContainSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The name server of contain's networks, what aardvark-dns is to podman's: one process for
/// every network of a store, in the host's network namespace, listening on port 53 (UDP and
/// TCP) of each gateway address that has live containers behind it. It answers the names of
/// the containers the asker shares a network with (NameTable) and forwards everything else to
/// the host's resolvers.
///
/// It reads the networks' lease files, which contain already keeps: a container is resolvable
/// once its lease is on file and stops being so the moment it is given back (inotify tells of
/// every change); no other container's file is touched. Its files, beside the store's:
///
///     nameserver.lock   flock held while it lives: one server per store
///     nameserver.sock   control socket: `sync NET...` (reload, listen on those networks; the
///                       reply says whether it could), answered `ok` or `error MESSAGE`
///     nameserver.pid    its pid, for people and tests
///     nameserver.log    what went wrong (its stderr)
///
/// Started by the first container that needs it (NameServerControl.ensure), it ends once no
/// live lease has been left for `linger` seconds: it checks under the store's lock, so a
/// container being attached either is seen or finds it gone and starts another. A server that was killed is replaced by the
/// next container that needs one.
public final class NameServer {
    public static let port: UInt16 = 53
    public static let controlSocket = "nameserver.sock"
    public static let lockFile = "nameserver.lock"
    public static let pidFile = "nameserver.pid"
    public static let logFile = "nameserver.log"
    /// Answers about containers are not to be kept: they come and go.
    static let ttl: UInt32 = 0
    /// How long an upstream has to answer before the next is asked.
    static let upstreamTimeout = 2.0
    static let maxPending = 512
    static let maxTCPConnections = 64
    /// How often leases are checked for owners that died without giving them back.
    static let livenessInterval = 2.0
    /// How long it stays once the last container is gone: a script that runs bridged
    /// containers one after another finds it still there (starting one costs a few ms).
    static let linger = 2.0

    /// A network's gateway address of one family, where it listens.
    private struct ListenerKey: Hashable {
        var network: String
        var ipv6: Bool
    }

    private struct Listener {
        var gateway: IPAddress
        var udp: Int32
        var tcp: Int32
    }

    /// A query forwarded over UDP, waiting for its answer on `fd`.
    private struct Pending {
        var listener: Int32
        var client: Sockets.Endpoint
        var query: DNSQuery
        var bytes: [UInt8]
        var upstream: Int
        var deadline: Double
    }

    private let store: NetworkStore
    private let port: UInt16
    private let resolvConf: String
    private var listeners: [ListenerKey: Listener] = [:]
    private var listenErrors: [ListenerKey: String] = [:]
    private var table = NameTable()
    /// The store's network and lease files as the last reload read them: a reload that finds
    /// them the same has nothing to parse (a starting container's `sync` comes right after the
    /// change its lease made, which was read already). Compared whole: reading is cheap,
    /// parsing every lease is not, and a file's times and inode may repeat.
    private var readFiles: [String: String] = [:]
    private var upstreams: [Sockets.Endpoint] = []
    private var pending: [Int32: Pending] = [:]
    private let tcpConnections = Counter()
    private var buffer = [UInt8](repeating: 0, count: 65536)
    private var serverLock: Int32 = -1

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    /// `resolvConf`: where the host's resolvers are read (tests use another file).
    public init(store: NetworkStore, port: UInt16 = NameServer.port, resolvConf: String = "/etc/resolv.conf") {
        self.store = store
        self.port = port
        self.resolvConf = resolvConf
    }

    // MARK: life

    /// Serves until no live container is left or SIGTERM/SIGINT; returns at once when another
    /// server holds the store's lock. `ready` is called once it listens (control socket, and
    /// the gateways of the networks with containers).
    public func run(ready: () -> Void = {}) throws {
        let directory = store.directory
        try Files.makeDirectories(directory, mode: 0o755)
        let lockPath = directory + "/" + Self.lockFile
        let lock = try sys("open", path: lockPath) { open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        defer { close(lock) }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else { return }
        serverLock = lock

        let dir = try sys("open", path: directory) { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { close(dir) }
        let control = try listenControl(dir)
        defer { close(control) }
        try Files.write(directory + "/" + Self.pidFile, "\(getpid())\n", create: true)

        let inotify = try sys("inotify_init1") { inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK)) }
        defer { close(inotify) }
        try sys("inotify_add_watch", path: directory) {
            inotify_add_watch(inotify, directory, UInt32(IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE))
        }
        // Every signal blocked on this thread (the TCP threads inherit that); these end it.
        let ending = [SIGTERM, SIGINT, SIGHUP]
        let signals = try sys("signalfd") { ending.withUnsafeBufferPointer { cshim_signalfd_open($0.baseAddress, Int32($0.count)) } }
        defer { close(signals) }

        var nextLivenessCheck = Sockets.now() + Self.livenessInterval
        var alive = reload()
        ready()
        var idleSince: Double?
        while true {
            if alive {
                idleSince = nil
            } else if let since = idleSince {
                if Sockets.now() - since >= Self.linger {
                    // Shut down under the store's lock already: nothing more may be
                    // unlinked, a successor may own the control socket by now.
                    if stopIfIdle() { return }
                    // A container came meanwhile (stopIfIdle reloaded and saw it).
                    alive = true
                    idleSince = nil
                }
            } else {
                idleSince = Sockets.now()
            }
            var fds = [pollfd(fd: control, events: Int16(POLLIN), revents: 0), pollfd(fd: inotify, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
            for listener in listeners.values {
                fds.append(pollfd(fd: listener.udp, events: Int16(POLLIN), revents: 0))
                fds.append(pollfd(fd: listener.tcp, events: Int16(POLLIN), revents: 0))
            }
            for fd in pending.keys { fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            let deadline = pending.values.map { $0.deadline }.reduce(min(nextLivenessCheck, (idleSince ?? .infinity) + Self.linger), min)
            let timeout = Int32(max(0, (deadline - Sockets.now()) * 1000)) + 1
            let rc = poll(&fds, nfds_t(fds.count), timeout)
            if rc < 0 && errno != EINTR { throw SystemError.last("poll") }
            let woke = Set(fds.filter { $0.revents != 0 }.map(\.fd))

            if woke.contains(signals) { break }
            // Lease changes first: a query that follows a container's start sees its lease.
            if woke.contains(inotify) {
                drain(inotify)
                alive = reload(checkingOwners: false)
            }
            if woke.contains(control) { alive = serveControl(control) }
            for listener in listeners.values {
                if woke.contains(listener.udp) { serveUDP(listener.udp) }
                if woke.contains(listener.tcp) { acceptTCP(listener.tcp) }
            }
            for fd in Array(pending.keys) where woke.contains(fd) { receiveUpstream(fd) }
            expirePending()
            if Sockets.now() >= nextLivenessCheck {
                nextLivenessCheck = Sockets.now() + Self.livenessInterval
                alive = reload()
            }
        }
        shutdown()
    }

    /// With no live lease left: checked again under the store's lock (no container is being
    /// attached meanwhile), and if still so, every socket closed and the control socket gone
    /// before the lock is let go.
    private func stopIfIdle() -> Bool {
        let stopped = (try? store.withLock { () -> Bool in
            guard !reload() else { return false }
            shutdown()
            return true
        }) ?? false
        return stopped
    }

    /// Everything a successor needs let go of, before the store's lock is: the gateways' ports,
    /// the control socket, and the server lock (a successor launched at this moment must not
    /// find it still held and give up).
    private func shutdown() {
        for listener in listeners.values { close(listener.udp); close(listener.tcp) }
        listeners = [:]
        for fd in pending.keys { close(fd) }
        pending = [:]
        unlink(store.directory + "/" + Self.controlSocket)
        unlink(store.directory + "/" + Self.pidFile)
        if serverLock >= 0 { flock(serverLock, LOCK_UN) }
        serverLock = -1
    }

    private func listenControl(_ dir: Int32) throws -> Int32 {
        let path = store.directory + "/" + Self.controlSocket
        unlink(path)
        let fd = try Sockets.unixSocket()
        var address = Sockets.unixAddress(directory: dir, name: Self.controlSocket)
        do {
            try sys("bind", path: path) { Sockets.withUnixAddress(&address) { bind(fd, $0, $1) } }
            chmod(path, 0o600)
            try sys("listen", path: path) { listen(fd, 64) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    private func drain(_ fd: Int32) {
        while buffer.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
    }

    // MARK: what it knows

    /// Reads the networks and their live leases, listens on the gateways of the networks that
    /// have any (and stops listening on the others), reads the host's resolvers. Returns
    /// whether any container is left. `checkingOwners`: leases whose owner died are left out;
    /// without it (a lease file just changed, a container asks as it starts) the leases are
    /// taken as they are, which keeps a start's cost flat as a network fills up: a runtime
    /// gives its lease back as it ends, a start reclaims the dead ones, and the periodic check
    /// (every livenessInterval) catches the rest.
    @discardableResult
    private func reload(checkingOwners: Bool = true) -> Bool {
        let files = storeFiles()
        // (A gateway it could not listen on, its address not yet there when its lease came: again.)
        if !checkingOwners, files == readFiles, listenErrors.isEmpty { return !table.entries.isEmpty }
        readFiles = files
        var networks: [(definition: NetworkDefinition, leases: [Lease])] = []
        do {
            for definition in try store.definitions() {
                let leases = try store.leases(of: definition.name).leases
                let live = checkingOwners ? leases.filter { $0.owner.isAlive } : leases
                if !live.isEmpty { networks.append((definition, live)) }
            }
        } catch {
            log("reading the networks: \(error)")
            // Keep what was known rather than go dark.
            return !table.entries.isEmpty
        }
        table = NameTable(networks: networks)
        upstreams = Self.upstreams(resolvConf: (try? Files.read(resolvConf)) ?? "",
                                   systemd: try? Files.read("/run/systemd/resolve/resolv.conf"), port: Self.port)
        var wanted: [ListenerKey: IPAddress] = [:]
        for (definition, _) in networks {
            wanted[ListenerKey(network: definition.name, ipv6: false)] = .v4(definition.gateway)
            if let gateway6 = definition.gateway6 { wanted[ListenerKey(network: definition.name, ipv6: true)] = .v6(gateway6) }
        }
        for (key, listener) in listeners where wanted[key] != listener.gateway {
            close(listener.udp)
            close(listener.tcp)
            listeners[key] = nil
        }
        listenErrors = [:]
        for (key, gateway) in wanted where listeners[key] == nil {
            let endpoint = Sockets.Endpoint(address: gateway, port: port)
            do {
                let udp = try Sockets.listen(Sockets.udp, on: endpoint)
                do {
                    listeners[key] = Listener(gateway: gateway, udp: udp, tcp: try Sockets.listen(Sockets.tcp, on: endpoint))
                } catch {
                    close(udp)
                    throw error
                }
            } catch let error as SystemError {
                let why = error.errno == EADDRINUSE ? "port \(port) is already in use there" : String(cString: strerror(error.errno))
                listenErrors[key] = "the name server of network \(key.network) cannot listen on \(endpoint) (udp and tcp): \(why)"
                log(listenErrors[key]!)
            } catch {
                listenErrors[key] = "the name server of network \(key.network) cannot listen on \(endpoint): \(error)"
            }
        }
        return !networks.isEmpty
    }

    /// The text of each network's definition and leases files.
    private func storeFiles() -> [String: String] {
        var files: [String: String] = [:]
        for file in (try? Files.list(store.directory)) ?? [] where file.hasSuffix(".network") || file.hasSuffix(".leases") {
            files[file] = try? Files.read(store.directory + "/" + file)
        }
        return files
    }

    /// The resolvers queries are forwarded to: the host's, with loopback stubs replaced by
    /// the upstreams systemd-resolved lists, as containers' own resolv.conf used to get them.
    /// The server lives in the host's namespace, so when nothing else is known a loopback stub
    /// is asked itself. Both families (a link-local resolver with a zone, `fe80::1%eth0`, is
    /// skipped).
    static func upstreams(resolvConf: String, systemd: String?, port: UInt16) -> [Sockets.Endpoint] {
        var found = ContainerFiles.resolvers(host: resolvConf, upstream: systemd).compactMap(IPAddress.init)
        if found.isEmpty { found = ContainerFiles.nameservers(resolvConf).compactMap(IPAddress.init) }
        return found.map { Sockets.Endpoint(address: $0, port: port) }
    }

    private func log(_ message: String) {
        let line = "[contain] name server: \(message)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }

    // MARK: control

    /// `sync NET...`: reload, then `ok` when it listens on every network named, else the
    /// reason it cannot. Returns whether any container is left.
    private func serveControl(_ control: Int32) -> Bool {
        let fd = Sockets.accept(control)
        guard fd >= 0 else { return !table.entries.isEmpty }
        defer { close(fd) }
        let deadline = Sockets.now() + 2
        let words = (Sockets.readLine(fd, until: deadline) ?? "").split(separator: " ").map(String.init)
        let alive = reload(checkingOwners: false)
        var reply = "ok\n"
        if words.first == "sync" {
            for name in words.dropFirst() {
                let keys = [ListenerKey(network: name, ipv6: false), ListenerKey(network: name, ipv6: true)]
                if let error = keys.compactMap({ listenErrors[$0] }).first {
                    reply = "error \(error)\n"
                    break
                }
                if listeners[keys[0]] == nil {
                    reply = "error network \(name) has no live container for the name server to serve\n"
                    break
                }
            }
        } else {
            reply = "error unknown request\n"
        }
        _ = Sockets.write(fd, Array(reply.utf8), until: deadline)
        return alive
    }

    // MARK: queries

    /// What to do with one query: answer it here (`reply`), forward it (`forward`), or
    /// nothing (not even a header to answer).
    enum Outcome: Equatable {
        case reply([UInt8])
        case forward(DNSQuery)
        case ignore
    }

    static func answer(_ bytes: [UInt8], from asker: IPAddress, table: NameTable, maxSize: (DNSQuery) -> Int, canForward: Bool) -> Outcome {
        switch DNSMessage.parse(bytes) {
        case .drop:
            return .ignore
        case .malformed(let id, let opcode):
            return .reply(DNSMessage.headerOnly(id: id, opcode: opcode, code: opcode == 0 ? .formatError : .notImplemented))
        case .query(let query):
            guard query.opcode == 0 else {
                return .reply(DNSMessage.headerOnly(id: query.id, opcode: query.opcode, code: .notImplemented))
            }
            func reply(_ code: DNSResponseCode, _ answers: [DNSAnswer] = []) -> Outcome {
                .reply(DNSMessage.response(to: query, code: code, answers: answers, ttl: ttl, maxSize: maxSize(query)))
            }
            switch table.resolve(query.question, from: asker) {
            case .answers(let answers): return reply(.noError, answers)
            case .noData: return reply(.noError)
            case .nameError: return reply(.nameError)
            case .refused: return reply(.refused)
            case .forward: return canForward ? .forward(query) : reply(.serverFailure)
            }
        }
    }

    private func serveUDP(_ fd: Int32) {
        // A bounded batch: the other sockets get their turn.
        for _ in 0..<64 {
            guard let (bytes, client) = Sockets.receive(fd, into: &buffer) else { return }
            switch Self.answer(bytes, from: client.address, table: table, maxSize: DNSMessage.udpLimit,
                               canForward: !upstreams.isEmpty && pending.count < Self.maxPending) {
            case .ignore: continue
            case .reply(let reply): Sockets.send(fd, reply, to: client)
            case .forward(let query): forward(Pending(listener: fd, client: client, query: query, bytes: bytes, upstream: 0, deadline: 0))
            }
        }
    }

    /// Sends the query to upstream `request.upstream` from a socket of its own (a fresh port
    /// per query), or answers SERVFAIL when no upstream is left to ask.
    private func forward(_ request: Pending) {
        var request = request
        while request.upstream < upstreams.count {
            if let fd = try? Sockets.connect(Sockets.udp, to: upstreams[request.upstream]) {
                let sent = request.bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent == request.bytes.count {
                    request.deadline = Sockets.now() + Self.upstreamTimeout
                    pending[fd] = request
                    return
                }
                close(fd)
            }
            request.upstream += 1
        }
        Sockets.send(request.listener, DNSMessage.response(to: request.query, code: .serverFailure, answers: [], ttl: 0,
                                                           maxSize: DNSMessage.udpLimit(for: request.query)), to: request.client)
    }

    private func receiveUpstream(_ fd: Int32) {
        guard var request = pending[fd] else { return }
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if n < 0 {
            if errno == EAGAIN || errno == EINTR { return }
            // ECONNREFUSED and the like: the next upstream.
            close(fd)
            pending[fd] = nil
            request.upstream += 1
            forward(request)
            return
        }
        let reply = Array(buffer[0..<n])
        // Anything but the answer to this question is ignored (a late or forged datagram).
        guard DNSMessage.isResponse(reply, to: request.query) else { return }
        close(fd)
        pending[fd] = nil
        let limit = DNSMessage.udpLimit(for: request.query)
        Sockets.send(request.listener, DNSMessage.truncated(reply, maxSize: limit) ?? reply, to: request.client)
    }

    private func expirePending() {
        let now = Sockets.now()
        for (fd, request) in pending where request.deadline <= now {
            close(fd)
            pending[fd] = nil
            var next = request
            next.upstream += 1
            forward(next)
        }
    }

    // MARK: TCP

    /// A TCP client gets a thread of its own, with what the server knew when it connected.
    private func acceptTCP(_ listener: Int32) {
        let fd = Sockets.accept(listener)
        guard fd >= 0 else { return }
        let peer = Sockets.peer(fd)
        let counter = tcpConnections
        guard let peer, counter.value.add(1, ordering: .relaxed).newValue <= Self.maxTCPConnections else {
            if peer != nil { counter.value.subtract(1, ordering: .relaxed) }
            close(fd)
            return
        }
        let snapshot = table, upstreams = upstreams, asker = peer.address
        detachedThread {
            Self.serveTCP(fd, asker: asker, table: snapshot, upstreams: upstreams)
            close(fd)
            counter.value.subtract(1, ordering: .relaxed)
        }
    }

    /// Queries on one connection until it closes or stays idle for 10 s.
    static func serveTCP(_ fd: Int32, asker: IPAddress, table: NameTable, upstreams: [Sockets.Endpoint]) {
        while let bytes = Sockets.readMessage(fd, until: Sockets.now() + 10) {
            let reply: [UInt8]
            switch answer(bytes, from: asker, table: table, maxSize: { _ in 65535 }, canForward: !upstreams.isEmpty) {
            case .ignore: return
            case .reply(let r): reply = r
            case .forward(let query):
                reply = forwardTCP(bytes, query: query, upstreams: upstreams)
                    ?? DNSMessage.response(to: query, code: .serverFailure, answers: [], ttl: 0, maxSize: 65535)
            }
            guard Sockets.writeMessage(fd, reply, until: Sockets.now() + 10) else { return }
        }
    }

    static func forwardTCP(_ bytes: [UInt8], query: DNSQuery, upstreams: [Sockets.Endpoint]) -> [UInt8]? {
        for upstream in upstreams {
            guard let fd = try? Sockets.connect(Sockets.tcp, to: upstream) else { continue }
            defer { close(fd) }
            let deadline = Sockets.now() + upstreamTimeout
            guard Sockets.wait(fd, Int16(POLLOUT), until: deadline) else { continue }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0,
                  Sockets.writeMessage(fd, bytes, until: deadline),
                  let reply = Sockets.readMessage(fd, until: deadline), DNSMessage.isResponse(reply, to: query) else { continue }
            return reply
        }
        return nil
    }
}
