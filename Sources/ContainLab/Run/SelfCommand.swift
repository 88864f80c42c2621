import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// A `contain` command run by the lab as a user would type it (this same binary, through
/// /proc/self/exe): nodes are ordinary containers made by `contain run -d`, networks by `contain
/// net create`, so a lab can never make something the command line could not.
struct SelfCommand {
    /// `--root DIR` when the lab command was given one.
    var globalArguments: [String]

    struct Result {
        var status: Int32
        var output: String
        var errors: String

        /// The last `[contain] error:` line, else the last line of stderr: why it failed.
        var reason: String {
            let lines = errors.split(separator: "\n").map(String.init)
            let error = lines.last { $0.hasPrefix("[contain] error: ") }.map { String($0.dropFirst("[contain] error: ".count)) }
            return error ?? lines.last ?? "exit status \(status)"
        }
    }

    /// Runs `contain ARGUMENTS`, its stdout and stderr collected. `sharing` (the lab's lock) is
    /// handed down to it, so that a command left running by a killed `lab up` still holds the
    /// lock until it is done, and `lab down` waits for it rather than missing what it makes.
    /// (contain closes inherited descriptors before anything long-lived: the detached
    /// supervisor, the name server and the container's own processes never hold it.)
    func capture(_ arguments: [String], sharing: Int32? = nil) throws -> Result {
        // A duplicate has no close-on-exec flag: that one is inherited, the original is not.
        let shared = sharing.map { dup($0) } ?? -1
        defer { if shared >= 0 { close(shared) } }
        var outputPipe: [Int32] = [0, 0], errorPipe: [Int32] = [0, 0]
        try sys("pipe") { pipe(&outputPipe) }
        try sys("pipe") { pipe(&errorPipe) }
        for fd in outputPipe + errorPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let pid: pid_t
        do {
            pid = try spawn(arguments, stdout: outputPipe[1], stderr: errorPipe[1])
        } catch {
            for fd in outputPipe + errorPipe { close(fd) }
            throw error
        }
        close(outputPipe[1])
        close(errorPipe[1])
        // Both pipes drained together, so neither can fill up and stall the child.
        var collected: [[UInt8]] = [[], []]
        var open = [outputPipe[0], errorPipe[0]]
        var buffer = [UInt8](repeating: 0, count: 16384)
        while open.contains(where: { $0 >= 0 }) {
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for index in 0..<2 where open[index] >= 0 && fds[index].revents != 0 {
                let n = read(open[index], &buffer, buffer.count)
                if n > 0 {
                    collected[index] += buffer[0..<n]
                } else if n == 0 || errno != EINTR {
                    close(open[index])
                    open[index] = -1
                }
            }
        }
        let status = try wait(pid)
        return Result(status: status, output: String(decoding: collected[0], as: UTF8.self),
                      errors: String(decoding: collected[1], as: UTF8.self))
    }

    /// Runs `contain ARGUMENTS` on this process's own stdout and stderr (stdin: /dev/null).
    func passThrough(_ arguments: [String]) throws -> Int32 {
        try wait(try spawn(arguments))
    }

    /// Replaces this process with `contain ARGUMENTS` (for `lab exec`: the terminal, signals
    /// and exit status are exec's own).
    func replace(_ arguments: [String]) throws -> Never {
        let argv = (["contain"] + globalArguments + arguments).map { strdup($0) } + [nil]
        execv("/proc/self/exe", argv)
        throw SystemError("execv", path: "/proc/self/exe", errno: errno)
    }

    private func spawn(_ arguments: [String], stdout: Int32? = nil, stderr: Int32? = nil) throws -> pid_t {
        try Spawn.start("/proc/self/exe", ["contain"] + globalArguments + arguments, stdout: stdout, stderr: stderr)
    }

    /// The exit status, or 128+N for a signal, as a shell reports it.
    private func wait(_ pid: pid_t) throws -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw SystemError("waitpid", errno: errno) }
        }
        return WaitStatus(raw: status)?.shellCode ?? 125
    }
}
