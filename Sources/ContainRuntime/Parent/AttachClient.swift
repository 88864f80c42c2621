import CContainShim
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain attach`'s side of the attach socket (AttachServer, AttachProtocol): the caller's
/// stdin to the container, its output to the caller's stdout and stderr, as docker attach.
///
/// With a tty and stdin attached, the caller's terminal goes raw (restored on every way out but
/// SIGKILL), its window size is sent at the start and on SIGWINCH, and the detach keys are
/// looked for in what it types. Without a tty, signals to `contain attach` are passed on to the
/// container (docker's `--sig-proxy`, on by default); detach keys work only with a tty, as in
/// docker.
public final class AttachClient {
    /// How the attachment ended.
    public enum Outcome: Equatable, Sendable {
        /// The container ended with this status (what `contain wait` prints).
        case exited(Int32)
        /// The caller typed the detach keys; the container goes on.
        case detached
        /// The supervisor closed the connection without an exit status: it dropped this client
        /// (its output came faster than this client took it), or it died.
        case disconnected
        /// A signal ended `contain attach` (the container goes on).
        case interrupted(Int32)
    }

    /// Why attaching is not possible, in one line (docker's attach exits 1 for these).
    public struct Refusal: Error, CustomStringConvertible {
        public let description: String
    }

    public let hello: AttachHello
    private let fd: Int32
    private var decoder = AttachFrameDecoder()
    private var toSupervisor: [UInt8] = []
    private var sendFailed = false
    private var buffer = [UInt8](repeating: 0, count: 65536)

    /// Connects to the supervisor of the container whose record is `directory` and reads its
    /// hello, waiting at most `timeout` seconds.
    public init(directory: String, displayName: String, timeout: Double = 10) throws {
        let socketPath = directory + "/" + AttachServer.socketName
        let dir = try sys("open", path: directory) { open(directory, CSHIM_O_PATH | O_DIRECTORY | O_CLOEXEC) }
        defer { close(dir) }
        let fd = try sys("socket") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        var address = try AttachServer.address("/proc/self/fd/\(dir)/" + AttachServer.socketName)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if connected != 0 {
            let error = errno
            close(fd)
            switch error {
            case ENOENT:
                throw Refusal(description: "container \(displayName) has no attach socket (it was started by a contain without `attach`): its output is in `contain logs`")
            case ECONNREFUSED:
                throw Refusal(description: "container \(displayName) has lost its supervisor (it was killed): nothing relays its streams, so it cannot be attached")
            default:
                throw SystemError("connect", path: socketPath, errno: error)
            }
        }
        self.fd = fd
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        do {
            hello = try Self.awaitHello(fd: fd, decoder: &decoder, timeout: timeout, displayName: displayName)
        } catch {
            close(fd)
            throw error
        }
        guard hello.version == AttachHello.currentVersion else {
            close(fd)
            throw Refusal(description: "container \(displayName)'s supervisor speaks attach protocol version \(hello.version), this contain \(AttachHello.currentVersion)")
        }
    }

    deinit { close(fd) }

    private static func awaitHello(fd: Int32, decoder: inout AttachFrameDecoder, timeout: Double, displayName: String) throws -> AttachHello {
        let deadline = MonotonicClock.seconds + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if let frame = try decoder.next() {
                guard case .hello(let hello) = frame else { throw AttachProtocolError.unknownKind(frame.kind.rawValue) }
                return hello
            }
            let left = deadline - MonotonicClock.seconds
            guard left > 0 else {
                throw Refusal(description: "container \(displayName)'s supervisor did not answer within \(Int(timeout)) seconds")
            }
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&entry, 1, Int32(left * 1000) + 1) < 0 && errno != EINTR { throw SystemError.last("poll") }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            // It closed at once: the container ended as we connected.
            guard n > 0 else { throw Refusal(description: "cannot attach to a stopped container, start it first") }
            decoder.append(buffer[0..<n])
        }
    }

    /// Relays until the container ends, the caller detaches, or a signal ends it.
    /// `attachStdin`: the caller's stdin is sent (when the container's is open: `-i`);
    /// `proxySignals`: without a tty, signals are handed to `forward` (which signals the
    /// container) instead of ending `contain attach`.
    public func run(attachStdin: Bool, detachKeys: DetachKeys, proxySignals: Bool, forward: (Int32) -> Void) throws -> Outcome {
        let tty = hello.tty
        var readingStdin = attachStdin && hello.stdinOpen
        var scanner: DetachKeyScanner? = tty && readingStdin ? DetachKeyScanner(keys: detachKeys) : nil
        var saved: termios?
        if tty && readingStdin && isatty(0) == 1 {
            var attributes = termios()
            if tcgetattr(0, &attributes) == 0 {
                saved = attributes
                cfmakeraw(&attributes)
                tcsetattr(0, TCSANOW, &attributes)
            }
        }
        defer { if var attributes = saved { tcsetattr(0, TCSANOW, &attributes) } }
        let signals = try SignalFD(signals: [SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2])
        let sendsWindowSize = tty && isatty(1) == 1
        // One row and column more first, then the real size: a resize the shell inside notices
        // (SIGWINCH), so it redraws its prompt for the newcomer, as docker attach does.
        if sendsWindowSize { queueWindowSize(grownBy: 1); queueWindowSize(grownBy: 0) }
        var exitCode: Int32?

        while true {
            flushToSupervisor()
            var entries = [pollfd(fd: fd, events: Int16(POLLIN) | (toSupervisor.isEmpty ? 0 : Int16(POLLOUT)), revents: 0),
                           pollfd(fd: signals.fd, events: Int16(POLLIN), revents: 0)]
            // Input waits in the caller's stdin while the supervisor is slow to take it.
            if readingStdin && toSupervisor.count < 256 * 1024 { entries.append(pollfd(fd: 0, events: Int16(POLLIN), revents: 0)) }
            if poll(&entries, nfds_t(entries.count), -1) < 0 {
                if errno == EINTR { continue }
                throw SystemError.last("poll")
            }
            if entries.count > 2 && entries[2].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                if n > 0 {
                    let typed = Array(buffer[0..<n])
                    if scanner != nil {
                        let (forward, detached) = scanner!.scan(typed)
                        queue(.stdin(forward))
                        if detached {
                            flushToSupervisor()
                            return .detached
                        }
                    } else {
                        queue(.stdin(typed))
                    }
                } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                    // Its end (or a terminal gone): the container's stdin stays open.
                    if let held = scanner?.flush() { queue(.stdin(held)) }
                    queue(.stdinEnd)
                    readingStdin = false
                }
            }
            if entries[1].revents != 0 {
                while let received = try signals.next() {
                    if received.signal == SIGWINCH {
                        if sendsWindowSize { queueWindowSize(grownBy: 0) }
                    } else if proxySignals && !tty {
                        forward(received.signal)
                    } else {
                        return .interrupted(received.signal)
                    }
                }
            }
            if entries[0].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
                guard n > 0 else { return exitCode.map(Outcome.exited) ?? .disconnected }
                decoder.append(buffer[0..<n])
                while let frame = try decoder.next() {
                    switch frame {
                    case .stdout(let bytes): try Self.writeAll(1, bytes, name: "stdout")
                    case .stderr(let bytes): try Self.writeAll(2, bytes, name: "stderr")
                    case .exited(let code): exitCode = code
                    case .hello, .stdin, .stdinEnd, .windowSize: throw AttachProtocolError.unknownKind(frame.kind.rawValue)
                    }
                }
            }
        }
    }

    private func queue(_ frame: AttachFrame) {
        if case .stdin(let bytes) = frame, bytes.isEmpty { return }
        guard !sendFailed else { return }
        toSupervisor += frame.encoded
    }

    private func queueWindowSize(grownBy extra: UInt16) {
        var rows: UInt16 = 0, columns: UInt16 = 0
        guard cshim_window_size(1, &rows, &columns) == 0, rows > 0, columns > 0 else { return }
        queue(.windowSize(rows: rows &+ extra, columns: columns &+ extra))
    }

    /// What the socket takes now. A failed send means the supervisor closed the connection:
    /// what it sent before is still read, and nothing more is sent.
    private func flushToSupervisor() {
        while !toSupervisor.isEmpty && !sendFailed {
            let n = toSupervisor.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            guard n > 0 else { sendFailed = true; toSupervisor.removeAll(); return }
            toSupervisor.removeFirst(n)
        }
    }

    /// All of `bytes` to `fd` (waiting while a non-blocking one is full).
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], name: String) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN {
                var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&entry, 1, -1)
                continue
            }
            guard n > 0 else { throw SystemError.last("write", path: name) }
            offset += n
        }
    }
}
