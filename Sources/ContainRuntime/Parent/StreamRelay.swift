import CContainShim
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// The container's standard streams, as docker sets them up: the caller's terminal never
/// enters the container (a process there could push input into the caller's shell with
/// TIOCSTI, or stop it with job control).
///
/// - `-t`: the container gets a pty of its own devpts (the init passes the master up); `contain`
///   relays between it and the caller's terminal, which it puts in raw mode (restored on every
///   way out but SIGKILL) and whose window size it forwards.
/// - otherwise: standard streams that are not terminals (files, pipes) are passed as they are;
///   a terminal is replaced by a pipe that `contain` relays, and stdin by /dev/null unless `-i`.
/// - detached (`DetachedStreams`): no caller; stdout and stderr are pipes (with `-t`, the pty)
///   whose output goes into the container's log, each line with its stream and time, and to
///   every `contain attach` client (AttachServer). The container's ends are opened read-write
///   (through /proc/self/fd), so its stdout and stderr always have a reader: if the supervisor
///   is killed, a write never fails with EPIPE or raises SIGPIPE; it blocks once the pipe is
///   full, as docker's containers do while their daemon is down. Stdin is /dev/null; with `-i`
///   a pipe whose write end the supervisor keeps open (docker keeps a `-i` container's stdin
///   open), fed by attached clients, as the pty is with `-it`. What they send waits in
///   `stdinQueue` and is written as the container takes it, never blocking the supervisor.
final class StreamRelay {
    /// Where a route's bytes go: one of our fds, or the container's log as one of its streams.
    private enum Target: Equatable {
        case fd(Int32, closeWhenDone: Bool)
        case log(LogStream)

        var descriptor: Int32? { if case .fd(let fd, _) = self { return fd } else { return nil } }
        /// Output of the container's: to the caller's stdout or stderr, or to the log.
        var isOutput: Bool { descriptor.map { $0 == 1 || $0 == 2 } ?? true }
    }

    /// The child's fds 0, 1 and 2 (-1: inherit the caller's).
    private(set) var childStreams: [Int32] = [-1, -1, -1]
    private var routes: [(from: Int32, to: Target)] = []
    /// Our ends of pipes and the pty master: closed when done.
    private var owned: [Int32] = []
    private var saved: termios?
    private var master: Int32 = -1
    private let interactive: Bool
    private let log: ContainerLogWriter?
    private var buffer = [UInt8](repeating: 0, count: 65536)
    /// A detached container's attach socket.
    private let attachServer: AttachServer?
    /// Where attached clients' input goes (the pty master with `-it`, our end of the stdin pipe
    /// with `-i`; non-blocking), -1 for nowhere; and what it has not taken yet.
    private var stdinTarget: Int32 = -1
    private var stdinQueue: [UInt8] = []
    /// Where the pty's master goes instead of being relayed (contain-oci's --console-socket).
    private let consoleSocket: String?
    /// Input beyond this waits in the clients (they are not read).
    private static let maxStdinQueue = 65536

    /// Plans the streams before the child is started; `terminal`: the child will make a pty;
    /// `detached`: a detached container's log and attach socket, where its output goes;
    /// `handed`: what an OCI runtime's `create` was given, relayed by nobody: its stdin, stdout
    /// and stderr are the child's as they are (closed here once the child has them), or, with
    /// a terminal, the pty's master goes to the console socket.
    init(terminal: Bool, interactive: Bool, detached: DetachedStreams? = nil, handed: HandedStreams? = nil) throws {
        self.interactive = interactive && detached == nil
        self.log = detached?.log
        self.attachServer = detached?.attach
        let null = try sys("open", path: "/dev/null") { open("/dev/null", O_RDWR | O_CLOEXEC) }
        owned.append(null)
        self.consoleSocket = handed?.consoleSocket
        if let handed, !terminal {
            childStreams = handed.streams
            return
        }
        if terminal {
            // The init's own streams before it takes its terminal: nothing of the caller's.
            childStreams = [null, null, null]
            return
        }
        if detached != nil {
            childStreams[0] = null
            if interactive {
                let (read, write) = try Self.pipe()
                _ = fcntl(write, F_SETFL, fcntl(write, F_GETFL) | O_NONBLOCK)
                childStreams[0] = read
                stdinTarget = write
                owned.append(write)
            }
            for (fd, stream) in [(1, LogStream.stdout), (2, LogStream.stderr)] {
                let (read, write) = try Self.pipe()
                let shared = open("/proc/self/fd/\(write)", O_RDWR | O_CLOEXEC)
                if shared >= 0 { close(write) }
                childStreams[fd] = shared >= 0 ? shared : write
                routes.append((read, .log(stream)))
            }
            return
        }
        if isatty(0) == 1 {
            if interactive {
                let (read, write) = try Self.pipe()
                childStreams[0] = read
                routes.append((0, .fd(write, closeWhenDone: true)))
            } else {
                childStreams[0] = null
            }
        }
        for fd: Int32 in [1, 2] where isatty(fd) == 1 {
            let (read, write) = try Self.pipe()
            childStreams[Int(fd)] = write
            routes.append((read, .fd(fd, closeWhenDone: false)))
        }
    }

    /// Once the child has them, our copies of its ends go (so EOF reaches the reader).
    func childStarted() {
        for fd in childStreams where fd >= 0 && !routes.contains(where: { $0.from == fd || $0.to.descriptor == fd }) && !owned.contains(fd) {
            close(fd)
        }
        childStreams = [-1, -1, -1]
    }

    /// `-t`: the init's pty master arrived. The caller's terminal goes raw and takes its size;
    /// a detached container's terminal is its log's stdout.
    func attach(master fd: Int32) throws {
        if let consoleSocket {
            defer { close(fd) }
            try HandedStreams.send(master: fd, to: consoleSocket)
            return
        }
        master = fd
        owned.append(fd)
        if let attachServer {
            routes.append((fd, .log(.stdout)))
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            if attachServer.hello.stdinOpen { stdinTarget = fd }
            return
        }
        routes.append((fd, .fd(1, closeWhenDone: false)))
        if interactive { routes.append((0, .fd(fd, closeWhenDone: false))) }
        if isatty(0) == 1 {
            var attributes = termios()
            if tcgetattr(0, &attributes) == 0 {
                saved = attributes
                cfmakeraw(&attributes)
                tcsetattr(0, TCSANOW, &attributes)
            }
        }
        resize()
    }

    /// SIGWINCH: the caller's window size onto the container's terminal.
    func resize() {
        guard master >= 0 else { return }
        _ = cshim_copy_window_size(isatty(0) == 1 ? 0 : 1, master)
    }

    var handlesWindowChanges: Bool { master >= 0 }
    var pollFDs: [Int32] { routes.map(\.from) + (attachServer?.readFDs ?? []) }
    /// Polled for writing too: attached clients with output queued, the container's stdin
    /// while input waits for it.
    var writeFDs: [Int32] { (attachServer?.writeFDs ?? []) + (stdinQueue.isEmpty ? [] : [stdinTarget]) }

    /// Copies what is readable; a source at its end (or a broken target) drops its route.
    /// Attached clients are served, and their input passed on as the container takes it.
    func pump(_ ready: Set<Int32>) {
        for route in routes where ready.contains(route.from) {
            if copy(from: route.from, to: route.to) == .end { finish(route.from) }
        }
        guard let attachServer else { return }
        for input in attachServer.handle(ready) {
            switch input {
            case .stdin(let bytes):
                if stdinTarget >= 0 { stdinQueue += bytes }
            case .windowSize(let rows, let columns):
                if master >= 0 { _ = cshim_set_window_size(master, rows, columns) }
            }
        }
        feedStdin()
    }

    /// After the child ended: what is still buffered, without waiting for writers that linger.
    /// (Once a container's init has been reaped, its PID namespace is empty: every writer is gone.)
    func drain() {
        for route in routes where route.to.isOutput {
            let flags = fcntl(route.from, F_GETFL)
            _ = fcntl(route.from, F_SETFL, flags | O_NONBLOCK)
            while copy(from: route.from, to: route.to) == .copied {}
        }
    }

    /// The caller's terminal as it was, the log's last partial lines written, attached clients
    /// told the container's `exitCode` (once it has ended) and let go, and every descriptor of
    /// ours closed.
    func restore(exitCode: Int32? = nil) {
        attachServer?.close(exitCode: exitCode)
        if var attributes = saved { tcsetattr(0, TCSANOW, &attributes); saved = nil }
        for route in routes { if case .fd(let fd, true) = route.to { close(fd) } }
        for route in routes where route.from > 2 && !owned.contains(route.from) { close(route.from) }
        routes.removeAll()
        for fd in owned { close(fd) }
        owned.removeAll()
        master = -1
        stdinTarget = -1
        stdinQueue.removeAll()
        log?.close()
    }

    deinit { restore() }

    private enum Copied { case copied, nothingYet, end }

    /// One read and its write: `end` at end of file or on an error (of the read or the write),
    /// `nothingYet` when a non-blocking source had nothing.
    private func copy(from: Int32, to target: Target) -> Copied {
        let n = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { return .copied }
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return .nothingYet }
        guard n > 0 else { return .end }
        let to: Int32
        switch target {
        case .log(let stream):
            log?.append(buffer[0..<n], from: stream)
            attachServer?.broadcast(buffer[0..<n], stream: stream)
            return .copied
        case .fd(let fd, _):
            to = fd
        }
        var offset = 0
        while offset < n {
            let w = buffer[offset..<n].withUnsafeBytes { write(to, $0.baseAddress, $0.count) }
            if w < 0 && errno == EINTR { continue }
            guard w > 0 else { return .end }
            offset += w
        }
        return .copied
    }

    /// Attached clients' input to the container, as much as it takes now. Once it cannot take
    /// any more (its stdin closed, its terminal gone), input is dropped.
    private func feedStdin() {
        while !stdinQueue.isEmpty && stdinTarget >= 0 {
            let n = stdinQueue.withUnsafeBytes { write(stdinTarget, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { break }
            guard n > 0 else { stdinQueue.removeAll(); stdinTarget = -1; break }
            stdinQueue.removeFirst(n)
        }
        attachServer?.acceptsInput = stdinQueue.count < Self.maxStdinQueue
    }

    private func finish(_ from: Int32) {
        guard let index = routes.firstIndex(where: { $0.from == from }) else { return }
        let route = routes.remove(at: index)
        switch route.to {
        case .fd(let fd, closeWhenDone: true): close(fd)
        case .log(let stream): log?.finish(stream)
        case .fd: break
        }
        if route.from > 2 && !owned.contains(route.from) { close(route.from) }
    }

    private static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        try sys("pipe") { Glibc.pipe(&fds) }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }
}

/// What a detached container's streams go to instead of a caller: its log, and the socket
/// `contain attach` connects to.
struct DetachedStreams {
    let log: ContainerLogWriter
    let attach: AttachServer
}
