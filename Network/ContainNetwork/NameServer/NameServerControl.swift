import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// The containers' side of the name server: make sure one runs for the store and listens on
/// the networks a container is joining, before the container's first query.
public enum NameServerControl {
    /// Asks the store's name server to serve `networks` (their leases already on file), starting
    /// one with `launch` when none answers (none ever ran, the last one ended with the last
    /// container, or it was killed). A server that cannot listen on one of them says why, and
    /// that is thrown (`port 53 is already in use`).
    public static func ensure(directory: String, networks: [String], timeout: Double = 10, launch: () throws -> Void) throws {
        let deadline = Sockets.now() + timeout
        var lastLaunch: Double?
        while true {
            if let reply = request(directory: directory, "sync " + networks.joined(separator: " ")) {
                if reply == "ok" { return }
                if reply.hasPrefix("error ") { throw NetworkError.conflict(String(reply.dropFirst("error ".count))) }
            }
            let now = Sockets.now()
            guard now < deadline else {
                throw NetworkError.conflict("the name server did not answer within \(Int(timeout)) s (see \(directory)/\(NameServer.logFile))")
            }
            // `launch` returns once the server listens, or has given up because another one
            // holds the store (which may be ending): then another is launched a moment later.
            if lastLaunch.map({ now - $0 > 0.05 }) ?? true {
                try launch()
                lastLaunch = now
                continue
            }
            usleep(5_000)
        }
    }

    /// Whether a name server answers for the store (it removes its socket as it ends).
    public static func isRunning(directory: String) -> Bool {
        request(directory: directory, "sync") == "ok"
    }

    /// One request line and its one-line reply; nil when no server answered.
    static func request(directory: String, _ line: String) -> String? {
        let dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dir >= 0 else { return nil }
        defer { close(dir) }
        guard let fd = try? Sockets.unixSocket() else { return nil }
        defer { close(fd) }
        var address = Sockets.unixAddress(directory: dir, name: NameServer.controlSocket)
        guard Sockets.withUnixAddress(&address, { connect(fd, $0, $1) }) == 0 else { return nil }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let deadline = Sockets.now() + 5
        guard Sockets.write(fd, Array((line + "\n").utf8), until: deadline) else { return nil }
        return Sockets.readLine(fd, until: deadline)
    }
}
