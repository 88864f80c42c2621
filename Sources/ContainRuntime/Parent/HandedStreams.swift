import CContainShim
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// What an OCI runtime's `create` hands the container (contain-oci), as runc does: its own
/// stdin, stdout and stderr, passed to the container's process untouched; and, when the process
/// has a terminal, the console socket the engine listens on, to which the pty's master is sent
/// (SCM_RIGHTS) instead of being relayed: the engine (conmon, containerd's shim) relays it.
public struct HandedStreams: Sendable {
    public var streams: [Int32]
    public var consoleSocket: String?

    public init(streams: [Int32], consoleSocket: String? = nil) {
        self.streams = streams
        self.consoleSocket = consoleSocket
    }

    /// Connects to `path` (a listening SOCK_STREAM unix socket) and sends `master` over it, with
    /// the pty's name as the message, as runc's console socket protocol has it.
    static func send(master: Int32, to path: String) throws {
        let fd = try sys("socket") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        defer { close(fd) }
        var address = try AttachServer.address(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw SystemError("connect to the console socket", path: path, errno: errno) }
        let name = (try? Files.readLink("/proc/self/fd/\(master)")) ?? "/dev/ptmx"
        let sent = Array(name.utf8).withUnsafeBytes { cshim_send_with_fd(fd, $0.baseAddress, UInt($0.count), master) }
        guard sent >= 0 else { throw SystemError("send the terminal to the console socket", path: path, errno: errno) }
    }
}
