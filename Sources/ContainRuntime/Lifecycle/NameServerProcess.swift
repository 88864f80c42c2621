import CContainShim
import ContainNetwork
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// The name server as a process: `contain __nameserver DIR`, started in a session of its own
/// with its stderr in `DIR/nameserver.log`. It forks once more, and its first process ends as
/// soon as the server listens (or has given up): the launcher's wait for it is the wait for
/// the server, and the server is nobody's child (no zombie waits for whichever container
/// started it).
public enum NameServerProcess {
    public static let argument = "__nameserver"

    /// Makes sure the server of the network store `directory` runs and serves `networks`.
    public static func ensure(directory: String, networks: [String]) throws {
        try NameServerControl.ensure(directory: directory, networks: networks) { try launch(directory: directory) }
    }

    static func launch(directory: String) throws {
        try Files.makeDirectories(directory, mode: 0o755)
        let logPath = directory + "/" + NameServer.logFile
        let log = try sys("open", path: logPath) { open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600) }
        defer { close(log) }
        let words: [String] = ["contain", argument, directory]
        let argv = words.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let pid = cshim_spawn_session("/proc/self/exe", argv, environ, log)
        guard pid > 0 else { throw SystemError("start the name server", errno: errno) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    /// `contain __nameserver DIR` (picked out before argument parsing): forks; the parent
    /// exits once the child says it listens, or the child ends.
    public static func main(directory: String) -> Never {
        guard geteuid() == 0 else {
            Progress.error("contain needs root privileges")
            exit(125)
        }
        var ready: [Int32] = [0, 0]
        guard pipe(&ready) == 0 else { exit(125) }
        for fd in ready { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let pid = fork()
        if pid < 0 { exit(125) }
        if pid > 0 {
            close(ready[1])
            var byte: UInt8 = 0
            while read(ready[0], &byte, 1) < 0 && errno == EINTR {}
            exit(0)
        }
        close(ready[0])
        do {
            try NameServer(store: NetworkStore(directory: directory)).run {
                var byte: UInt8 = 1
                _ = write(ready[1], &byte, 1)
                close(ready[1])
            }
        } catch {
            Progress.error("name server: \(error)")
            exit(1)
        }
        exit(0)
    }
}
