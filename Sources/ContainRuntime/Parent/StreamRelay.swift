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
final class StreamRelay {
    /// The child's fds 0, 1 and 2 (-1: inherit the caller's).
    private(set) var childStreams: [Int32] = [-1, -1, -1]
    private var routes: [(from: Int32, to: Int32, closeTarget: Bool)] = []
    /// Our ends of pipes and the pty master: closed when done.
    private var owned: [Int32] = []
    private var saved: termios?
    private var master: Int32 = -1
    private let interactive: Bool

    /// Plans the streams before the child is started; `terminal`: the child will make a pty.
    init(terminal: Bool, interactive: Bool) throws {
        self.interactive = interactive
        let null = try sys("open", path: "/dev/null") { open("/dev/null", O_RDWR | O_CLOEXEC) }
        owned.append(null)
        if terminal {
            // The init's own streams before it takes its terminal: nothing of the caller's.
            childStreams = [null, null, null]
            return
        }
        if isatty(0) == 1 {
            if interactive {
                let (read, write) = try Self.pipe()
                childStreams[0] = read
                routes.append((0, write, true))
            } else {
                childStreams[0] = null
            }
        }
        for fd: Int32 in [1, 2] where isatty(fd) == 1 {
            let (read, write) = try Self.pipe()
            childStreams[Int(fd)] = write
            routes.append((read, fd, false))
        }
    }

    /// Once the child has them, our copies of its ends go (so EOF reaches the reader).
    func childStarted() {
        for fd in childStreams where fd >= 0 && !routes.contains(where: { $0.from == fd || $0.to == fd }) && !owned.contains(fd) {
            close(fd)
        }
        childStreams = [-1, -1, -1]
    }

    /// `-t`: the init's pty master arrived. The caller's terminal goes raw and takes its size.
    func attach(master fd: Int32) {
        master = fd
        owned.append(fd)
        routes.append((fd, 1, false))
        if interactive { routes.append((0, fd, false)) }
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
    var pollFDs: [Int32] { routes.map(\.from) }

    /// Copies what is readable; a source at its end (or a broken target) drops its route.
    func pump(_ readable: Set<Int32>) {
        for route in routes where readable.contains(route.from) {
            if !copy(from: route.from, to: route.to) { finish(route.from) }
        }
    }

    /// After the child ended: what is still buffered, without waiting for writers that linger.
    func drain() {
        for route in routes where route.to == 1 || route.to == 2 {
            let flags = fcntl(route.from, F_GETFL)
            _ = fcntl(route.from, F_SETFL, flags | O_NONBLOCK)
            while copy(from: route.from, to: route.to) {}
        }
    }

    /// The caller's terminal as it was, and every descriptor of ours closed.
    func restore() {
        if var attributes = saved { tcsetattr(0, TCSANOW, &attributes); saved = nil }
        for route in routes where route.closeTarget { close(route.to) }
        for route in routes where route.from > 2 && !owned.contains(route.from) { close(route.from) }
        routes.removeAll()
        for fd in owned { close(fd) }
        owned.removeAll()
        master = -1
    }

    deinit { restore() }

    /// One read and its write; false at end of file, on an error, or when nothing was there.
    private func copy(from: Int32, to: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16384)
        let n = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { return true }
        guard n > 0 else { return false }
        var offset = 0
        while offset < n {
            let w = buffer[offset..<n].withUnsafeBytes { write(to, $0.baseAddress, $0.count) }
            if w < 0 && errno == EINTR { continue }
            guard w > 0 else { return false }
            offset += w
        }
        return true
    }

    private func finish(_ from: Int32) {
        guard let index = routes.firstIndex(where: { $0.from == from }) else { return }
        let route = routes.remove(at: index)
        if route.closeTarget { close(route.to) }
        if route.from > 2 && !owned.contains(route.from) { close(route.from) }
    }

    private static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        try sys("pipe") { Glibc.pipe(&fds) }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }
}
