import CContainShim
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain run -d`: starts a supervising `contain run` in a session of its own, with the same
/// options and an id chosen here, and waits on a pipe (its stderr) until it says the container
/// runs, or fails. The supervisor then lives on: it reaps the container, records its exit
/// status and cleans up, as a foreground run does.
enum Detach {
    static func start(_ options: RunOptions) throws -> Int32 {
        let id = try Identifiers.randomHex()
        var supervisor = options
        supervisor.superviseID = id
        var fds: [Int32] = [0, 0]
        try sys("pipe") { pipe(&fds) }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        let argv = (["contain", "run"] + supervisor.arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let pid = cshim_spawn_session("/proc/self/exe", argv, environ, fds[1])
        let spawnErrno = errno
        close(fds[1])
        defer { close(fds[0]) }
        guard pid > 0 else { throw SystemError("start the supervisor", errno: spawnErrno) }

        var collected: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            collected += buffer[0..<n]
        }
        let text = String(decoding: collected, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let started = lines.contains { $0.hasPrefix(ContainerRunner.startedMarker) }
        let shown = lines.filter { !$0.isEmpty && !$0.hasPrefix(ContainerRunner.startedMarker) }
        if !shown.isEmpty { Progress.emit(shown.joined(separator: "\n") + "\n") }
        if started {
            print(id)
            return 0
        }
        // It failed before the container ran: its exit status is the answer.
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 125
        return code == 0 ? 125 : code
    }
}
