import CContainShim
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// The supervisor's side of `contain attach`: a Unix stream socket, `<record>/attach.sock`
/// (mode 0600, in the record's 0700 directory), made before the container starts and removed
/// when the supervisor lets go of the container. StreamRelay polls it beside its routes, in the
/// supervisor's one thread; any number of clients may be attached at once (AttachProtocol).
///
/// Output goes to every client without ever waiting: each client has a queue, sent as its
/// socket takes it, and a client whose queue passes `maxQueued` is dropped (it sees the
/// connection close without an `exited` frame). What clients send comes back from `handle` as
/// input for StreamRelay to apply: bytes for the container's stdin, window sizes.
final class AttachServer {
    static let socketName = "attach.sock"
    /// Output queued for a client that does not read it before it is dropped.
    static let maxQueued = 1 << 20
    static let maxClients = 64
    /// How long the last output and the exit status may take to reach the clients.
    static let finalFlushSeconds = 2.0

    /// What a client asked of the container.
    enum Input: Equatable {
        case stdin([UInt8])
        case windowSize(rows: UInt16, columns: UInt16)
    }

    private final class Client {
        let fd: Int32
        var decoder = AttachFrameDecoder()
        var queue: [UInt8] = []
        var sent = 0
        init(fd: Int32) { self.fd = fd }
        var queued: Int { queue.count - sent }
    }

    let path: String
    let hello: AttachHello
    private var listener: Int32
    private var clients: [Client] = []
    /// False while the container's stdin has more waiting than it should: clients are then not
    /// read (they wait, as a writer to a full pipe does).
    var acceptsInput = true
    private var buffer = [UInt8](repeating: 0, count: 65536)

    /// Listens at `<directory>/attach.sock`. The path is reached through the directory's
    /// descriptor (`/proc/self/fd/N/attach.sock`): a record's full path can pass the 108 bytes
    /// of `sun_path`.
    init(directory: String, hello: AttachHello) throws {
        path = directory + "/" + Self.socketName
        self.hello = hello
        let dir = try sys("open", path: directory) { open(directory, CSHIM_O_PATH | O_DIRECTORY | O_CLOEXEC) }
        defer { Glibc.close(dir) }
        listener = try sys("socket", path: path) { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0) }
        do {
            unlink(path)
            var address = try Self.address("/proc/self/fd/\(dir)/" + Self.socketName)
            try sys("bind", path: path) {
                withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
            }
            try sys("chmod", path: path) { fchmodat(dir, Self.socketName, 0o600, 0) }
            try sys("listen", path: path) { listen(listener, 16) }
        } catch {
            Glibc.close(listener)
            unlink(path)
            throw error
        }
    }

    static func address(_ path: String) throws -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw SystemError("socket address", path: path, errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    /// Polled for reading: the listener, and the clients while input is accepted.
    var readFDs: [Int32] {
        guard listener >= 0 else { return [] }
        return [listener] + (acceptsInput ? clients.map(\.fd) : [])
    }

    /// Polled for writing: clients with output queued.
    var writeFDs: [Int32] { clients.filter { $0.queued > 0 }.map(\.fd) }

    /// New clients accepted, readable clients read, queued output sent; returns what the
    /// clients asked of the container, in order.
    func handle(_ ready: Set<Int32>) -> [Input] {
        guard listener >= 0 else { return [] }
        if ready.contains(listener) { acceptClients() }
        var inputs: [Input] = []
        for client in clients where ready.contains(client.fd) {
            if client.queued > 0 && !send(client) { drop(client); continue }
            if acceptsInput && !receive(client, into: &inputs) { drop(client) }
        }
        return inputs
    }

    /// The container's output, to every client.
    func broadcast(_ bytes: some Collection<UInt8>, stream: LogStream) {
        guard !clients.isEmpty else { return }
        let frame = AttachFrame.output(bytes, stream: stream)
        for client in clients {
            guard client.queued + frame.count <= Self.maxQueued else { drop(client); continue }
            client.queue.append(contentsOf: frame)
            if !send(client) { drop(client) }
        }
    }

    /// The container has ended (`exitCode`, nil if it never ran) and its output is all queued:
    /// no new clients; every client gets the exit status and what it has queued, for at most
    /// `finalFlushSeconds`, and is then disconnected. Idempotent.
    func close(exitCode: Int32?) {
        guard listener >= 0 else { return }
        Glibc.close(listener)
        listener = -1
        unlink(path)
        if let exitCode {
            for client in clients { client.queue.append(contentsOf: AttachFrame.exited(exitCode).encoded) }
        }
        let deadline = Self.now() + Self.finalFlushSeconds
        while true {
            for client in clients where client.queued > 0 { if !send(client) { drop(client) } }
            let waiting = clients.filter { $0.queued > 0 }
            let left = deadline - Self.now()
            guard !waiting.isEmpty, left > 0 else { break }
            var entries = waiting.map { pollfd(fd: $0.fd, events: Int16(POLLOUT), revents: 0) }
            _ = poll(&entries, nfds_t(entries.count), Int32(left * 1000) + 1)
        }
        for client in clients { Glibc.close(client.fd) }
        clients.removeAll()
    }

    deinit { close(exitCode: nil) }

    // MARK: clients

    private func acceptClients() {
        while true {
            // accept4 is not in Swift's Glibc module; nothing is spawned meanwhile (one thread).
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return  // EAGAIN: all taken; EMFILE and the like: they wait in the backlog
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            guard clients.count < Self.maxClients else { Glibc.close(fd); continue }
            let client = Client(fd: fd)
            client.queue = AttachFrame.hello(hello).encoded
            clients.append(client)
            if !send(client) { drop(client) }
        }
    }

    /// Sends what the socket takes now; false when the client is gone.
    private func send(_ client: Client) -> Bool {
        while client.queued > 0 {
            let n = client.queue[client.sent...].withUnsafeBytes {
                Glibc.send(client.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            }
            if n < 0 {
                if errno == EINTR { continue }
                return errno == EAGAIN || errno == EWOULDBLOCK
            }
            client.sent += n
        }
        client.queue.removeAll(keepingCapacity: true)
        client.sent = 0
        return true
    }

    /// Reads what the client sent and decodes its frames; false when it is gone (end of file,
    /// an error, or a frame it may not send).
    private func receive(_ client: Client, into inputs: inout [Input]) -> Bool {
        let n = buffer.withUnsafeMutableBytes { read(client.fd, $0.baseAddress, $0.count) }
        if n < 0 { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR }
        guard n > 0 else { return false }
        client.decoder.append(buffer[0..<n])
        do {
            while let frame = try client.decoder.next() {
                switch frame {
                case .stdin(let bytes): if hello.stdinOpen { inputs.append(.stdin(bytes)) }
                case .stdinEnd: break  // the container's stdin stays open for the next client
                case .windowSize(let rows, let columns): if hello.tty { inputs.append(.windowSize(rows: rows, columns: columns)) }
                case .hello, .stdout, .stderr, .exited: return false
                }
            }
        } catch {
            return false
        }
        return true
    }

    private func drop(_ client: Client) {
        guard let index = clients.firstIndex(where: { $0 === client }) else { return }
        Glibc.close(client.fd)
        clients.remove(at: index)
    }

    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
