import ContainNetwork
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// runc's lifecycle over contain's engine: `create` leaves the container's init waiting on its
/// record's start FIFO and exits, so that the init is the engine's (conmon's, containerd's
/// shim's: the subreaper that reaps it and knows its exit status), as runc's is; `start` lets
/// it exec, `state` reports it in runtime-spec's terms, `kill` signals it, `delete` removes
/// what is left (its cgroups and record).
public struct OCIRuntime {
    public let stateRoot: String
    public let context: RuntimeContext

    /// runc keeps its state in /run/runc; contain-oci's containers are apart from `contain`'s.
    public static let defaultRoot = "/run/contain-oci"
    static let bundleAnnotation = OCIHooks.bundleAnnotation

    public init(root: String?, quiet: Bool = true) {
        stateRoot = root ?? Self.defaultRoot
        context = RuntimeContext(stateRoot: stateRoot, networkDirectory: stateRoot + "/networks", imageCache: stateRoot + "/rootfs",
                                 volumeDirectory: stateRoot + "/volumes", progress: Progress(quiet: quiet))
    }

    /// An OCI id: a 64-hex id is the record's own; anything else is its name (docker's rules).
    static func checkID(_ id: String) throws(OCIError) {
        if isHexID(id) { return }
        do { _ = try ContainerSpec.validateName(id) } catch {
            throw OCIError("invalid container id `\(id)`: use up to 63 letters, digits, `_`, `.` or `-` (or a 64-digit hex id)")
        }
    }

    static func isHexID(_ id: String) -> Bool {
        id.utf8.count == 64 && id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// The configuration `create` and the supervisor read from the bundle.
    public func configuration(id: String, bundle: String, recordID: String) throws -> ContainerConfig {
        let path = bundle + "/config.json"
        let bytes: [UInt8]
        do { bytes = try Files.readBytes(path) } catch { throw OCIError("cannot read \(path): \(Self.reason(error))") }
        var config: ContainerConfig
        do { config = try OCIConfig.read(bundle: bundle, id: id, bytes: bytes) } catch { throw OCIError("\(path): \(error.message)") }
        if Self.isHexID(id) { config.contain.name = nil }
        // Without a cgroupsPath: contain-oci/RECORD (the OCI id when that is hex).
        if config.linux.cgroupsPath == nil { config.linux.cgroupsPath = "contain-oci/" + recordID }
        config.annotations[Self.bundleAnnotation] = bundle
        guard Files.isDirectory(config.root.path) else { throw OCIError("root.path \(config.root.path): no such directory") }
        for namespace in config.linux.namespaces {
            if let path = namespace.path, !Files.exists(path) {
                throw OCIError("linux.namespaces (\(namespace.type.rawValue)): \(path) does not exist")
            }
        }
        return config
    }

    // MARK: create, start

    /// Creates the container and returns once its init waits for `start`.
    /// `consoleSocket`: where the pty's master goes when the process has a terminal (required
    /// then, as runc requires it).
    public func create(id: String, bundle: String, pidFile: String?, consoleSocket: String? = nil) throws {
        let (recordID, config) = try newContainer(id: id, bundle: bundle, consoleSocket: consoleSocket)
        try ContainerRunner.createForEngine(config, id: recordID, handed: try Self.handedStreams(consoleSocket: consoleSocket),
                                            context: context)
        if let pidFile { try writePidFile(pidFile, id: id) }
    }

    /// What `create` and `run` check before anything is made: the id, free; the bundle's
    /// configuration; a console socket exactly when the process has a terminal (as runc).
    func newContainer(id: String, bundle: String, consoleSocket: String?) throws -> (recordID: String, config: ContainerConfig) {
        try Self.checkID(id)
        if (try? ContainerRecord.find(stateRoot: stateRoot, id)) != nil { throw OCIError("container \(id) exists") }
        let recordID = Self.isHexID(id) ? id : try Identifiers.randomHex()
        let config = try configuration(id: id, bundle: bundle, recordID: recordID)
        if config.process.terminal && consoleSocket == nil {
            throw OCIError("process.terminal is true: give --console-socket, where the terminal's master is sent")
        }
        if !config.process.terminal && consoleSocket != nil {
            throw OCIError("--console-socket: process.terminal is false, so there is no terminal to send")
        }
        return (recordID, config)
    }

    /// The container's stdin, stdout and stderr are this process's own, as runc hands them over
    /// (containerd's shim and podman's conmon give FIFOs or pipes here); a stream this process
    /// was started without is /dev/null for the container.
    static func handedStreams(consoleSocket: String?) throws -> HandedStreams {
        let streams = try (0...2).map { fd throws -> Int32 in
            let copy = fcntl(Int32(fd), F_DUPFD_CLOEXEC, 3)
            if copy >= 0 { return copy }
            return try sys("open", path: "/dev/null") { open("/dev/null", O_RDWR | O_CLOEXEC) }
        }
        return HandedStreams(streams: streams, consoleSocket: consoleSocket)
    }

    /// Lets a created container's init exec the process; returns once it runs.
    public func start(id: String) throws {
        let view = try find(id)
        guard view.state == .created else { throw OCIError("container \(id) is \(Self.status(view)), not created") }
        try ContainerRecord.requestStart(view, untilExec: view.info.ownedByEngine)
        // Its init read the request and exec'd the process (nobody supervises it to say so).
        if view.info.ownedByEngine {
            ContainerRecord.recordStarted(view)
            if let config = try? ContainerRecord.configuration(of: view), let hooks = config.hooks, !hooks.poststart.isEmpty {
                OCIHooks.runWarning(hooks.poststart, phase: "poststart",
                                    state: OCIHooks.state(config, id: id, status: "running", pid: view.status.pid?.pid ?? 0))
            }
            return
        }
        for _ in 0..<12_000 {
            guard let now = ContainerRecord.find(directory: view.directory) else { throw OCIError("container \(id) was deleted while starting") }
            switch now.state {
            case .created: usleep(5_000)
            case .running: return
            case .exited, .dead:
                if let error = now.status.error { throw OCIError(error) }
                return   // it ran, and has ended already
            }
        }
        throw OCIError("container \(id) did not start within 60 s")
    }

    /// `run`: create and start; in the foreground (not `detach`), the process's stdio are this
    /// one's and its exit status is returned, and the container is deleted when it ends.
    public func run(id: String, bundle: String, pidFile: String?, consoleSocket: String?, detach: Bool) throws -> Int32 {
        if detach {
            // As runc: the init is left to this process's caller (its subreaper) when it exits.
            try create(id: id, bundle: bundle, pidFile: pidFile, consoleSocket: consoleSocket)
            try start(id: id)
            return 0
        }
        var (recordID, config) = try newContainer(id: id, bundle: bundle, consoleSocket: consoleSocket)
        config.contain.detached = false
        // In the foreground this process supervises: it waits for the end, returns the exit
        // status, and deletes the container. Its streams (or, with a terminal, the console
        // socket) are the container's, relayed by nobody.
        return try ContainerRunner.supervise(config, id: recordID, createOnly: false, reopen: false,
                                             handed: try Self.handedStreams(consoleSocket: consoleSocket), context: context)
    }

    func writePidFile(_ path: String, id: String) throws {
        guard let pid = try find(id).status.pid?.pid else { throw OCIError("container \(id) has no process") }
        let temporary = path + ".tmp.\(getpid())"
        try Files.write(temporary, "\(pid)", create: true, mode: 0o644)
        try sys("rename", path: path) { rename(temporary, path) }
    }

    // MARK: state, kill, delete

    public func find(_ id: String) throws -> ContainerView {
        do { return try ContainerRecord.find(stateRoot: stateRoot, id) } catch { throw OCIError("container \(id) does not exist") }
    }

    /// runtime-spec's status: created, running, paused or stopped.
    static func status(_ view: ContainerView) -> String {
        switch view.state {
        case .created: return "created"
        case .running: return view.paused ? "paused" : "running"
        case .exited, .dead: return "stopped"
        }
    }

    /// The state JSON (runtime-spec's, with runc's `created` time).
    public func state(_ id: String) throws -> JSONValue.OrderedObject {
        let view = try find(id)
        let config = try? ContainerRecord.configuration(of: view)
        var annotations = config?.annotations ?? [:]
        let bundle = annotations.removeValue(forKey: Self.bundleAnnotation) ?? ""
        let status = Self.status(view)
        let pid = status == "stopped" ? 0 : Int(view.status.pid?.pid ?? 0)
        return JSONValue.ordered([
            ("ociVersion", .string(config?.ociVersion ?? ContainerConfig.defaultOCIVersion)),
            ("id", .string(id)),
            ("status", .string(status)),
            ("pid", .number(Double(pid), text: String(pid))),
            ("bundle", .string(bundle)),
            ("annotations", .object(annotations.mapValues { .string($0) })),
            ("created", .string(Self.timestamp(view.info.created))),
        ])
    }

    public func kill(_ id: String, signal: Int32, all: Bool) throws {
        let view = try find(id)
        guard view.isRunning || view.state == .created, let pid = view.status.pid, pid.isAlive else {
            throw OCIError("container \(id) is not running")
        }
        if signal == SIGKILL || signal == view.info.stopSignal { ContainerRecord.markStoppedByUser(view) }
        try sys("kill", path: id) { Glibc.kill(pid.pid, signal) }
        // --all: every process in the container's cgroup, the init first (runc's reading; what
        // a container sharing the host's PID namespace needs, since its init's end takes nothing
        // with it). A process that ended meanwhile is no error.
        if all {
            for process in ContainerProcesses.list(view) where process.pid != pid.pid { _ = Glibc.kill(process.pid, signal) }
        }
    }

    /// What `exec` was asked besides the process.
    public struct ExecOptions {
        public var tty = false
        public var detach = false
        public var pidFile: String?
        public var consoleSocket: String?
        /// `--cap`: added to the bounding, effective and permitted sets (runc's reading).
        public var capabilities: [String] = []
        public init() {}
    }

    /// Runs a process in a running container; returns its exit status (0 at once with
    /// `detach`, when the process runs: the engine, this process's caller, reaps it).
    /// `whole`: `process` is the engine's whole process (`--process FILE`), honoured as it is;
    /// otherwise it is the command line's, over the container's own process (its capabilities,
    /// rlimits, groups, no_new_privs) with the environment added to the container's. In both,
    /// `--tty` asks for a terminal and `--cap` adds capabilities (runc's reading).
    public func exec(_ id: String, process given: ContainerConfig.Process, whole: Bool, options: ExecOptions) throws -> Int32 {
        let view = try find(id)
        guard Self.status(view) == "running" else { throw OCIError("container \(id) is \(Self.status(view)), not running") }
        var process = given
        if !whole {
            let container = try ContainerRecord.configuration(of: view).process
            process = container
            process.args = given.args
            process.cwd = given.cwd
            process.user = given.user
            for entry in given.env {
                let key = entry.split(separator: "=", maxSplits: 1).first.map(String.init) ?? entry
                process.env.removeAll { $0.hasPrefix(key + "=") }
                process.env.append(entry)
            }
            process.terminal = false
        }
        if options.tty { process.terminal = true }
        if !options.capabilities.isEmpty {
            var caps = process.capabilities ?? ContainerConfig.Process.Capabilities()
            for cap in options.capabilities {
                guard let name = Capabilities.canonical(cap) else { throw OCIError("--cap \(cap): no such capability") }
                for keyPath in [\ContainerConfig.Process.Capabilities.bounding, \.effective, \.permitted] where !caps[keyPath: keyPath].contains(name) {
                    caps[keyPath: keyPath].append(name)
                }
            }
            process.capabilities = caps
        }
        if process.terminal && options.detach && options.consoleSocket == nil {
            throw OCIError("exec --detach with a terminal: give --console-socket, where the terminal's master is sent")
        }
        if !process.terminal && options.consoleSocket != nil {
            throw OCIError("--console-socket: the process has no terminal (--tty, process.terminal) to send")
        }
        var request = ContainerExec.Request(command: process.args, environment: [], workdir: process.cwd, user: nil, tty: process.terminal)
        request.process = process
        // A terminal without a console socket is relayed from this process's terminal, as
        // `contain exec -t`; otherwise the process gets this one's streams as they are.
        if !(process.terminal && options.consoleSocket == nil) {
            request.handed = try Self.handedStreams(consoleSocket: options.consoleSocket)
        }
        request.detach = options.detach
        request.pidFile = options.pidFile
        return try ContainerExec.run(view, request, progress: Progress(quiet: true))
    }

    /// The processes in a container's cgroup (`ps`); none once it has stopped.
    public func processes(_ id: String) throws -> [ContainerProcesses.Entry] {
        let view = try find(id)
        return Self.status(view) == "stopped" ? [] : ContainerProcesses.list(view)
    }

    /// New resource limits for a created or running container (`update`).
    public func update(_ id: String, resources: ContainerConfig.Linux.Resources) throws {
        let view = try find(id)
        guard view.isAlive else { throw OCIError("container \(id) is \(Self.status(view)), not running") }
        try ContainerUpdate.apply(view, resources)
    }

    /// Freezes every process of a running container (the cgroup freezer), as `contain pause`.
    public func pause(_ id: String) throws {
        let view = try find(id)
        guard Self.status(view) == "running" else { throw OCIError("container \(id) is \(Self.status(view)), not running") }
        try ContainerRecord.pause(view)
    }

    /// Thaws a paused container.
    public func resume(_ id: String) throws {
        let view = try find(id)
        guard Self.status(view) == "paused" else { throw OCIError("container \(id) is \(Self.status(view)), not paused") }
        try ContainerRecord.unpause(view)
    }

    /// Removes a stopped container; `force` kills a running one first.
    public func delete(_ id: String, force: Bool) throws {
        var view = try find(id)
        if view.isRunning || view.state == .created {
            guard force else { throw OCIError("container \(id) is \(Self.status(view)): stop it first, or delete --force") }
            if let pid = view.status.pid, pid.isAlive {
                ContainerRecord.markStoppedByUser(view)
                _ = Glibc.kill(pid.pid, SIGKILL)
            }
            // Its supervisor records the end; wait for that (10 s), then remove.
            for _ in 0..<1000 {
                guard let now = ContainerRecord.find(directory: view.directory) else { return }
                view = now
                if !view.isRunning && view.state != .created { break }
                usleep(10_000)
            }
        }
        let config = try? ContainerRecord.configuration(of: view)
        try Container.remove(view, stateRoot: stateRoot, networkDirectory: context.networkDirectory)
        if let config, let hooks = config.hooks, !hooks.poststop.isEmpty {
            OCIHooks.runWarning(hooks.poststop, phase: "poststop", state: OCIHooks.state(config, id: id, status: "stopped", pid: 0))
        }
    }

    /// Every container: id, pid, status, bundle, created.
    public func list() -> [(id: String, pid: Int, status: String, bundle: String, created: String)] {
        ContainerRecord.list(stateRoot: stateRoot).map { view in
            let config = try? ContainerRecord.configuration(of: view)
            let status = Self.status(view)
            return (view.info.name ?? view.info.id, status == "stopped" ? 0 : Int(view.status.pid?.pid ?? 0), status,
                    config?.annotations[Self.bundleAnnotation] ?? "", Self.timestamp(view.info.created))
        }
    }

    /// RFC 3339 in UTC, as runc prints `created` and its log lines' `time`.
    public static func timestamp(_ seconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    static func reason(_ error: Error) -> String {
        if let error = error as? OCIError { return error.message }
        if let error = error as? RunFailure { return error.description }
        return "\(error)"
    }
}
