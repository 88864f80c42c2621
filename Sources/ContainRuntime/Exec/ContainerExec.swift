import CContainShim
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain exec`: a command inside a running container, in all its namespaces and its cgroup.
///
///     contain exec (host)                          helper: sealed view of contain, __contain_exec
///     ───────────────────                          ──────────────────────────────────────────────
///     read-only view of /proc/self/exe
///     spawn the view, sync socket on fd 3 ───────► ELF constructor, before Swift runs: non-dumpable,
///       (cgroup v2: born in the container's)       into the container's v1 cgroups (0 into tasks),
///                                                  setns cgroup ipc uts net pid mnt (single-threaded)
///     send exec (the process), proceed ──────────► chdir, user, look the command up
///                                                  fork: the child is in the container's PID
///                                                  namespace and execs the command; the helper
///                                                  forwards signals and exits with its status
///                ◄──────────────────────────────── exec-failed / failed, or end of file on exec
///     forward signals, wait, exit with the status
///
/// The helper never runs from a writable host binary: a process inside the container that
/// opens its /proc/PID/exe finds contain on a read-only bind mount attached nowhere (its path
/// "/"), which cannot be written; where the kernel lacks such mounts, a sealed memfd copy
/// (CVE-2019-5736). No copy of the binary is made per exec.
public enum ContainerExec {
    public static let argument = "__contain_exec"
    static let syncFD: Int32 = 3

    /// What `contain exec` was asked to run.
    public struct Request: Sendable {
        public var command: [String]
        public var environment: [String]
        public var workdir: String?
        public var user: UserSpec?
        /// `-t`, `-i`: as for run.
        public var tty: Bool
        public var interactive: Bool
        /// contain-oci: the whole process as the engine gave it (`exec --process`: its own
        /// capabilities, rlimits, groups ...), instead of the container's with the fields above.
        public var process: ContainerConfig.Process?
        /// contain-oci: the exec's streams are this process's own, and (with a terminal) its
        /// pty's master goes to the engine's console socket; nothing is relayed.
        public var handed: HandedStreams?
        /// contain-oci `exec --detach`: returns once the command runs, leaving it (its helper,
        /// which reports its exit status) to this process's caller, the engine.
        public var detach = false
        /// Where the helper's pid is written once the command runs (the process an engine
        /// waits for: it exits with the command's status).
        public var pidFile: String?
        public init(command: [String], environment: [String], workdir: String?, user: UserSpec?,
                    tty: Bool = false, interactive: Bool = false) {
            self.command = command
            self.environment = environment
            self.workdir = workdir
            self.user = user
            self.tty = tty
            self.interactive = interactive
        }
    }

    // MARK: host side

    public static func run(_ view: ContainerView, _ request: Request, progress: Progress) throws -> Int32 {
        guard view.isRunning, let target = view.status.pid, target.isAlive else {
            throw RunFailure.runtime("container \(view.displayName) is not running")
        }
        // Its helper would join the frozen cgroup and freeze with it.
        guard !view.paused else {
            throw RunFailure.runtime("container \(view.displayName) is paused, unpause the container before exec")
        }
        let cgroups = ((try? Files.read(view.directory + "/cgroups")) ?? "").split(separator: "\n").map(String.init)
        // The container's own environment (as its command got it), with -e over it.
        var environment = view.info.environment
        for entry in request.environment {
            let key = entry.split(separator: "=", maxSplits: 1).first.map(String.init) ?? entry
            environment.removeAll { $0.hasPrefix(key + "=") }
            environment.append(entry)
        }

        let copy = try sys("seal contain for the container") { cshim_sealed_self() }
        defer { close(copy) }
        // Detached, the helper is never reaped here, even when its command has ended before
        // this returns: its exit status is the engine's (the subreaper it is left to) to collect.
        let signals = try SignalFD(signals: ContainerRunner.forwardedSignals + (request.detach ? [] : [SIGCHLD]))
        let channel = try SyncChannel.pair()
        var helperEnvironment = ["CONTAIN_EXEC_PID=\(target.pid)"]
        if let delay = getenv("CONTAIN_TEST_EXEC_DELAY_MS") { helperEnvironment.append("CONTAIN_TEST_EXEC_DELAY_MS=" + String(cString: delay)) }
        // The container's cgroups: v1 ones the helper joins itself (0 into tasks, in its
        // constructor: no global lock, see InitPlan.joinCgroups); a v2 one it is born in.
        let v1 = cgroups.filter { !$0.isEmpty && Files.exists($0 + "/tasks") }
        var v2 = cgroups.filter { !$0.isEmpty && !Files.exists($0 + "/tasks") }
        if !v1.isEmpty { helperEnvironment.append("CONTAIN_EXEC_CGROUPS=" + v1.joined(separator: "\n")) }
        let streams = try StreamRelay(terminal: request.process?.terminal ?? request.tty, interactive: request.interactive,
                                      handed: request.handed)
        let helper = try ChildProcess.spawnHelper(path: "/proc/self/fd/\(copy)", argv: ["contain", argument],
                                                  environment: helperEnvironment, syncFD: channel.child.fd,
                                                  streams: streams.childStreams, cgroupDirectory: v2.count == 1 ? v2[0] : nil)
        if helper.bornInCgroup { v2 = [] }
        streams.childStarted()
        defer { streams.restore() }
        channel.child.close()
        var leaveHelper = false
        defer { if !leaveHelper { helper.killAndReap() } }
        // The container's pid must still be the process we looked at.
        guard target.isAlive else { throw RunFailure.runtime("container \(view.displayName) is not running") }
        for dir in v2 {
            try Files.write(dir + "/cgroup.procs", "\(helper.pid)")
        }
        // The process part of the container's own configuration, with what exec asked over it:
        // the same capabilities, no_new_privs and seccomp as the container.
        let container = try ContainerRecord.configuration(of: view)
        var process = container.process
        process.args = request.command
        process.env = environment
        process.cwd = request.workdir ?? "/"
        process.terminal = request.tty
        if let user = request.user { process.user = ContainerConfig.Process.User(username: user.user, groupname: user.group) }
        if let whole = request.process { process = whole }
        let program = try container.linux.seccomp.map { try SeccompProgram.compiled($0, stateRoot: view.stateRoot) }
        try channel.parent.send(.exec(ExecConfig(process: process, seccompProgram: program, detached: request.detach)))
        try channel.parent.send(.proceed)
        let supervisor = ChildSupervisor(progress: progress, timings: StartTimings(enabled: false))
        try supervisor.awaitInit(helper, channel: channel.parent, signals: signals, until: .exec, relay: streams)
        if let pidFile = request.pidFile { try Files.writeAtomically(pidFile, "\(helper.pid)", mode: 0o644) }
        if request.detach {
            leaveHelper = true
            return 0
        }
        return try supervisor.supervise(helper, signals: signals, relay: streams).shellCode
    }

    // MARK: helper side (argv[1] == __contain_exec), already inside the namespaces

    public static func helperMain() -> Never {
        let channel = SyncChannel(fd: syncFD)
        let exec: ExecConfig
        do {
            guard case .exec(let received) = try channel.expect("exec") else { exit(125) }
            _ = try channel.expect("proceed")
            exec = received
        } catch {
            exit(125)  // nobody to report to
        }
        let joined = cshim_exec_join_result()
        guard joined.joined == 1 else {
            let name = withUnsafeBytes(of: joined.namespace_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            let what = name == "cgroups" ? "join the container's cgroups" : "join the container's \(name) namespace"
            ContainerInit.reportAndExit(SystemError(what, errno: joined.error), channel: channel)
        }
        let process = exec.process
        var terminal: Int32?
        do {
            try sys("chdir", path: process.cwd) { chdir(process.cwd) }
            if process.terminal { terminal = try ContainerInit.openTerminal(channel) }
        } catch {
            ContainerInit.reportAndExit(error, channel: channel)
        }
        // Tests only: widens the window in which the forked child still runs the helper's
        // image inside the container, to show that image cannot be written.
        let delay = getenv("CONTAIN_TEST_EXEC_DELAY_MS").flatMap { UInt32(String(cString: $0)) } ?? 0
        // Supervised: the command must be forked to land in the container's PID namespace.
        // Joined with the container's user, capabilities, no_new_privs and seccomp (Hardening).
        ContainerInit.runCommand(process, seccomp: exec.seccompProgram, terminal: terminal, channel: channel, reportProgress: false, supervised: true,
                                 outlivesRuntime: exec.detached, delayMilliseconds: delay)
    }
}
