import CContainShim
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// config.json's hooks, run where and when runtime-spec says, each with the container's state
/// JSON on its stdin:
///
/// | hooks | run by | namespace | when | state | a failure |
/// |---|---|---|---|---|---|
/// | prestart, createRuntime | the runtime (`create`) | the runtime's | the init exists in its namespaces and cgroup, nothing set up yet | creating | fails create |
/// | createContainer | the init | the container's mount namespace, host paths | mounts made, before the pivot | creating | fails create |
/// | startContainer | the init | the container's, after the pivot | `start` asked, before the process | created | fails start |
/// | poststart | `start` | the runtime's | the process runs | running | a warning |
/// | poststop | `delete` | the runtime's | the container is gone | stopped | a warning |
///
/// A hook is `path` with `args` (argv[0] first) and only `env`; stdout and stderr are kept
/// (the first 4 KiB) for the error; past `timeout` seconds it is killed and counts as failed.
public enum OCIHooks {
    /// The annotation that keeps the bundle's path in the record (contain-oci's; not shown in
    /// `state`'s annotations).
    public static let bundleAnnotation = "contain.oci.bundle"

    /// runtime-spec's state JSON: what a hook reads on stdin and `contain-oci state` prints.
    public static func state(_ config: ContainerConfig, id: String, status: String, pid: Int32) -> String {
        var annotations = config.annotations
        let bundle = annotations.removeValue(forKey: bundleAnnotation) ?? ""
        let pairs = annotations.keys.sorted().map { JSONText.quoted($0) + ":" + JSONText.quoted(annotations[$0]!) }
        return "{\"ociVersion\":\(JSONText.quoted(config.ociVersion)),\"id\":\(JSONText.quoted(id)),"
            + "\"status\":\(JSONText.quoted(status)),\"pid\":\(pid),\"bundle\":\(JSONText.quoted(bundle)),"
            + "\"annotations\":{\(pairs.joined(separator: ","))}}"
    }

    /// Runs `hooks` in order; throws for the first that fails (`phase` names them: poststart).
    public static func run(_ hooks: [ContainerConfig.Hook], phase: String, state: String) throws {
        for hook in hooks { try runOne(hook, phase: phase, state: state) }
    }

    /// The same, each failure a warning: poststart and poststop never fail the lifecycle.
    public static func runWarning(_ hooks: [ContainerConfig.Hook], phase: String, state: String) {
        for hook in hooks {
            do { try runOne(hook, phase: phase, state: state) } catch { Progress.warning("\(error)") }
        }
    }

    static func runOne(_ hook: ContainerConfig.Hook, phase: String, state: String) throws {
        let name = "\(phase) hook \(hook.path)"
        var input: [Int32] = [0, 0], output: [Int32] = [0, 0]
        try sys("pipe") { pipe(&input) }
        defer { for fd in input where fd >= 0 { close(fd) } }
        try sys("pipe") { pipe(&output) }
        defer { for fd in output where fd >= 0 { close(fd) } }
        for fd in input + output { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let pid: pid_t
        do {
            pid = try Spawn.start(hook.path, hook.args.isEmpty ? [hook.path] : hook.args, stdin: input[0], stdout: output[1],
                                  stderr: output[1], environment: hook.env, closeOthers: true)
        } catch {
            throw SystemError("run the \(name)", path: hook.path, errno: error.errno)
        }
        close(input[0]); input[0] = -1
        close(output[1]); output[1] = -1
        // The state is small (well under a pipe's 64 KiB): written whole, then end of file.
        var bytes = Array(state.utf8)
        _ = bytes.withUnsafeMutableBytes { write(input[1], $0.baseAddress, $0.count) }
        close(input[1]); input[1] = -1

        _ = fcntl(output[0], F_SETFL, fcntl(output[0], F_GETFL) | O_NONBLOCK)
        var said: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = hook.timeout.map { MonotonicClock.seconds + Double($0) }
        var status: Int32 = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { read(output[0], $0.baseAddress, $0.count) }
            if n > 0 && said.count < 4096 { said += buffer[0..<min(n, 4096 - said.count)] }
            let ended = waitpid(pid, &status, WNOHANG)
            if ended == pid { break }
            if ended < 0 && errno != EINTR { throw SystemError.last("wait for the \(name)") }
            if let deadline, MonotonicClock.seconds > deadline {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                throw RunFailure.runtime("\(name) did not finish within \(hook.timeout ?? 0) s and was killed")
            }
            usleep(n > 0 ? 0 : 2000)
        }
        guard let how = WaitStatus(raw: status), how.shellCode != 0 else { return }
        let text = String(decoding: said, as: UTF8.self).split(separator: "\n").joined(separator: "; ")
        let ended: String
        switch how {
        case .exited(let code): ended = "exit status \(code)"
        case .signaled(let signal, _): ended = "killed by \(Signals.name(signal))"
        }
        throw RunFailure.runtime("\(name) failed (\(ended))" + (text.isEmpty ? "" : ": " + text))
    }
}

