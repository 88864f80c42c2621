import CContainShim
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain run -d` and `contain create`: start a supervising `contain run` (the same options
/// plus the id chosen here) in a session of its own, and wait on a pipe (its stderr) until it
/// says the container runs (or, for create, is created and waits for start), or fails. The
/// supervisor then lives on: it reaps the container, records its exit status and cleans up,
/// as a foreground run does.
public enum DetachedSupervisor {
    /// `runArguments(id)`: the `contain run` arguments (after `run`) for the supervisor.
    /// Returns contain's exit status: 0 once the container runs (its id printed on stdout).
    /// `existing`: a kept container started again (`contain start` of an exited one), by a
    /// supervisor that is `contain __supervise ID` rather than `contain run`; nothing printed.
    public static func start(existing: String? = nil, runArguments: (String) -> [String]) throws -> Int32 {
        let id = try existing ?? Identifiers.randomHex()
        var fds: [Int32] = [0, 0]
        try sys("pipe") { pipe(&fds) }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        let argv = (["contain"] + (existing == nil ? ["run"] : []) + runArguments(id)).map { strdup($0) } + [nil]
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
        if started {
            // Only the id, as docker prints it; the progress lines are in the container's
            // runtime.log (`contain logs` shows its output; the log is beside it in the record).
            if existing == nil { print(id) }
            return 0
        }
        if !shown.isEmpty { Progress.emit(shown.joined(separator: "\n") + "\n") }
        // It failed before the container ran: its exit status is the answer.
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let ended = WaitStatus(raw: status) ?? .exited(125)
        if !shown.contains(where: { $0.hasPrefix("[contain] error:") }) {
            // It died without a word (killed, or nowhere left to write): say so.
            let how: String
            switch ended {
            case .exited(let code): how = "exit status \(code)"
            case .signaled(let signal, _): how = "killed by \(Signals.name(signal))"
            }
            Progress.error("the container's supervisor ended before the container started (\(how))")
        }
        let code = ended.shellCode
        return code == 0 ? 125 : code
    }
}
