import CContainShim
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// The container's init as seen from the parent: a pid this process started, reaped once.
final class ChildProcess {
    let pid: pid_t
    private(set) var status: WaitStatus?

    private init(pid: pid_t) { self.pid = pid }

    /// Re-executes this binary as the container's init in new namespaces (see cshim_spawn).
    /// It dies with SIGKILL if `contain` dies, taking its whole PID namespace with it.
    /// `sealedCopy` (--init, whose PID 1 stays this program for the container's whole life):
    /// runs from a sealed in-memory copy of the binary, never the host's file, so nothing in
    /// the container can reach the host's binary through /proc/1/exe (CVE-2019-5736).
    /// `streams`: the child's fds 0, 1, 2 (-1: the caller's). The child starts a session of its
    /// own: signals from the caller's terminal reach `contain`, which passes them on.
    static func spawnInit(namespaces: Namespaces, syncFD: Int32, sealedCopy: Bool = false, streams: [Int32] = [-1, -1, -1]) throws -> ChildProcess {
        var path = "/proc/self/exe"
        var copy: Int32 = -1
        if sealedCopy {
            copy = try sys("copy contain into a sealed memfd") { cshim_sealed_self_copy() }
            path = "/proc/self/fd/\(copy)"
        }
        defer { if copy >= 0 { close(copy) } }
        return try spawn(path: path, argv: ["contain", ContainerInit.argument], environment: [],
                         cloneFlags: namespaces.cloneFlags, syncFD: syncFD, streams: streams, operation: "clone container init")
    }

    /// Starts `path` (no new namespaces) as a helper holding the sync socket on fd 3, with
    /// `environment` only; it dies with SIGKILL if `contain` dies.
    static func spawnHelper(path: String, argv: [String], environment: [String], syncFD: Int32,
                            streams: [Int32] = [-1, -1, -1]) throws -> ChildProcess {
        try spawn(path: path, argv: argv, environment: environment, cloneFlags: 0, syncFD: syncFD, streams: streams,
                  operation: "start exec helper")
    }

    private static func spawn(path: String, argv arguments: [String], environment: [String], cloneFlags: Int32,
                              syncFD: Int32, streams: [Int32], operation: String) throws -> ChildProcess {
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        let pid = try sys(operation, path: path) {
            argv.withUnsafeBufferPointer { argvBuffer in
                envp.withUnsafeBufferPointer { envBuffer in
                    path.withCString { p in
                        var request = cshim_spawn_request(path: p, argv: argvBuffer.baseAddress, envp: envBuffer.baseAddress,
                                                          clone_flags: cloneFlags, sync_fd: syncFD, pdeathsig: SIGKILL,
                                                          stdin_fd: streams[0], stdout_fd: streams[1], stderr_fd: streams[2],
                                                          new_session: 1)
                        return cshim_spawn(&request)
                    }
                }
            }
        }
        return ChildProcess(pid: pid)
    }

    func reapIfExited() {
        guard status == nil else { return }
        status = (try? WaitStatus.wait(for: pid, options: WNOHANG)) ?? nil
    }

    func kill(_ signal: Int32) {
        if status == nil { _ = Glibc.kill(pid, signal) }
    }

    /// On the way out of a failed start: make sure the init is gone and reaped.
    func killAndReap() {
        guard status == nil else { return }
        _ = Glibc.kill(pid, SIGKILL)
        status = try? WaitStatus.wait(for: pid)
    }
}
