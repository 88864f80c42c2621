import CContainShim
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// The container's init as seen from the parent: a pid this process started, reaped once.
final class ChildProcess {
    let pid: pid_t
    private(set) var status: WaitStatus?

    /// Whether clone3 made the child in its cgroup (v2), so it needs no joining.
    let bornInCgroup: Bool
    /// Whether the init is a fork that took its configuration from this process's memory
    /// (spawnInit's `inherited`): the parent sends it no config message.
    let inheritedConfig: Bool

    private init(pid: pid_t, bornInCgroup: Bool = false, inheritedConfig: Bool = false) {
        self.pid = pid
        self.bornInCgroup = bornInCgroup
        self.inheritedConfig = inheritedConfig
    }

    /// The container's init in new namespaces (see cshim_spawn). From a single-threaded
    /// runtime it is a fork that runs ContainerInit.main at once: one process start per
    /// container, not two (the re-executed binary paid the loader, relocations and the Swift
    /// runtime's start again). Either way the host's binary is the init's image until the
    /// command's execve, in a PID namespace that holds nothing else yet, and the forked init
    /// is non-dumpable until then. It dies with SIGKILL if `contain` dies, taking its whole PID
    /// namespace with it.
    /// `sealedCopy` (--init, whose PID 1 stays this program for the container's whole life):
    /// re-executes a read-only view of the binary (cshim_sealed_self), never the writable
    /// host's file, so nothing in the container can write it through /proc/1/exe (CVE-2019-5736).
    /// `streams`: the child's fds 0, 1, 2 (-1: the caller's). The child starts a session of its
    /// own: signals from the caller's terminal reach `contain`, which passes them on.
    /// `cgroupDirectory`: a cgroup v2 directory to make the child in (see `bornInCgroup`).
    /// `inherited`: the init's whole configuration, when it needs nothing known only after the
    /// clone. A forked init takes it as it is in memory (no encoding, sending and decoding of
    /// the configuration); a re-executed one is sent it (`inheritedConfig` says which).
    static func spawnInit(namespaces: Namespaces, syncFD: Int32, sealedCopy: Bool = false, streams: [Int32] = [-1, -1, -1],
                          cgroupDirectory: String? = nil, inherited: InitConfig? = nil) throws -> ChildProcess {
        if !sealedCopy && cshim_thread_count() == 1 {
            let child = try spawn(path: nil, argv: [], environment: [], cloneFlags: namespaces.cloneFlags, syncFD: syncFD,
                                  streams: streams, cgroupDirectory: cgroupDirectory, operation: "clone container init")
            if child.pid == 0 { ContainerInit.main(inherited: inherited, bornInCgroup: child.bornInCgroup) }
            return ChildProcess(pid: child.pid, bornInCgroup: child.bornInCgroup, inheritedConfig: inherited != nil)
        }
        var path = "/proc/self/exe"
        var copy: Int32 = -1
        if sealedCopy {
            copy = try sys("seal contain for the container") { cshim_sealed_self() }
            path = "/proc/self/fd/\(copy)"
        }
        defer { if copy >= 0 { close(copy) } }
        return try spawn(path: path, argv: ["contain", ContainerInit.argument], environment: [],
                         cloneFlags: namespaces.cloneFlags, syncFD: syncFD, streams: streams, cgroupDirectory: cgroupDirectory,
                         operation: "clone container init")
    }

    /// Starts `path` (no new namespaces) as a helper holding the sync socket on fd 3, with
    /// `environment` only; it dies with SIGKILL if `contain` dies. `cgroupDirectory`: as for
    /// the init.
    static func spawnHelper(path: String, argv: [String], environment: [String], syncFD: Int32,
                            streams: [Int32] = [-1, -1, -1], cgroupDirectory: String? = nil) throws -> ChildProcess {
        try spawn(path: path, argv: argv, environment: environment, cloneFlags: 0, syncFD: syncFD, streams: streams,
                  cgroupDirectory: cgroupDirectory, operation: "start exec helper")
    }

    /// `path` nil: the forked child returns here with pid 0.
    private static func spawn(path: String?, argv arguments: [String], environment: [String], cloneFlags: Int32,
                              syncFD: Int32, streams: [Int32], cgroupDirectory: String?, operation: String) throws -> ChildProcess {
        let cgroupFD = cgroupDirectory.map { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) } ?? -1
        defer { if cgroupFD >= 0 { close(cgroupFD) } }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var request = cshim_spawn_request(path: nil, argv: nil, envp: nil, clone_flags: cloneFlags, sync_fd: syncFD,
                                          pdeathsig: SIGKILL, stdin_fd: streams[0], stdout_fd: streams[1], stderr_fd: streams[2],
                                          new_session: 1, cgroup_fd: cgroupFD, born_in_cgroup: 0)
        let pid = try sys(operation, path: path) {
            argv.withUnsafeBufferPointer { argvBuffer in
                envp.withUnsafeBufferPointer { envBuffer in
                    request.argv = argvBuffer.baseAddress
                    request.envp = envBuffer.baseAddress
                    guard let path else { return cshim_spawn(&request) }
                    return path.withCString { p in
                        request.path = p
                        return cshim_spawn(&request)
                    }
                }
            }
        }
        return ChildProcess(pid: pid, bornInCgroup: request.born_in_cgroup != 0)
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
