import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain run` (and the supervisor behind `run -d` and `create`): a Container's create,
/// start, wait and delete in one process, reporting as it goes. Cleans up on every path out.
public struct ContainerRunner {
    /// Signals `contain` passes on to the container.
    static let forwardedSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH]
    /// Signals that abort the start while the container is still being set up.
    static let abortingSignals: Set<Int32> = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    /// The line a detached supervisor prints once its container runs (or, for `create`, waits).
    public static let startedMarker = "[contain] started "

    public let spec: ContainerSpec
    public let context: RuntimeContext

    public init(spec: ContainerSpec, context: RuntimeContext) {
        self.spec = spec
        self.context = context
    }

    /// Runs the container to its end and returns the exit code for `contain`.
    public func run() throws -> Int32 {
        // The flags compile into the one configuration; the container is made from it alone.
        let id = try spec.id ?? Identifiers.randomHex()
        let config = ContainerConfig(spec: spec, id: id, term: getenv("TERM").map { String(cString: $0) })
        return try Self.supervise(config, id: id, createOnly: spec.createOnly, reopen: false, context: context)
    }

    /// The container's whole life, and (detached, with `--restart`) its restarts in place.
    /// `reopen`: the container exists, ended, and starts again (`contain start` of an exited
    /// container, `contain restart`).
    /// `handed`: the container's streams as an OCI runtime's `create` was given them.
    public static func supervise(_ config: ContainerConfig, id: String, createOnly: Bool, reopen: Bool,
                                 handed: HandedStreams? = nil, context: RuntimeContext) throws -> Int32 {
        let policy = config.contain.restartPolicy.flatMap { try? RestartPolicy(parsing: $0) } ?? .no
        var restarts = 0
        var delay: Int?
        var reopen = reopen
        while true {
            let began = time(nil)
            let (code, stoppedByUser) = try once(config, id: id, createOnly: createOnly && !reopen, reopen: reopen,
                                                 handed: handed, context: context)
            guard config.contain.detached, policy.restarts(exitCode: code, restartsSoFar: restarts, stoppedByUser: stoppedByUser) else {
                return code
            }
            let wait = RestartPolicy.delayMilliseconds(previous: delay, ranForSeconds: time(nil) - began)
            delay = wait
            restarts += 1
            context.progress.say("restarting (\(policy), restart \(restarts)) in \(wait) ms")
            usleep(UInt32(wait) * 1000)
            // `contain stop` while it waited: it stays stopped, as docker's restart is cancelled.
            if ContainerRecord.isMarkedStoppedByUser(stateRoot: context.stateRoot, id: id) { return code }
            reopen = true
        }
    }

    /// contain-oci's `create`: the container made and left waiting for `start`, owned by the
    /// engine that called (its init is reparented to the engine, their subreaper, when this
    /// process exits), as runc's `create` leaves it. Undone here only when it fails.
    public static func createForEngine(_ config: ContainerConfig, id: String, handed: HandedStreams, context: RuntimeContext) throws {
        let container = try Container.create(config, id: id, createOnly: true, handed: handed, ownedByEngine: true, context: context)
        container.release()
    }

    /// One run: create (or reopen), start, wait, delete. Returns the exit code, and whether
    /// `contain stop`, `kill` or `rm -f` ended it.
    private static func once(_ config: ContainerConfig, id: String, createOnly: Bool, reopen: Bool,
                             handed: HandedStreams?, context: RuntimeContext) throws -> (Int32, Bool) {
        let progress = context.progress, timings = context.timings
        let contain = config.contain
        let logOptions = LogOptions(maxSize: contain.logMaxSize ?? LogOptions.defaultMaxSize,
                                    maxFiles: Int(contain.logMaxFiles ?? Int32(LogOptions.defaultMaxFiles)))
        let container = try Container.create(config, id: id, createOnly: createOnly, reopen: reopen, interactive: contain.interactive,
                                             stopSignal: contain.stopSignal ?? SIGTERM, stopTimeout: Int(contain.stopTimeout ?? 10),
                                             logOptions: logOptions, handed: handed, context: context)
        if createOnly {
            // `contain create`: tell the waiting `contain create` the id, then wait for `start`.
            guard let record = container.record else { return (125, false) }
            Progress.switchToLog(record.directory + "/runtime.log", marker: Self.startedMarker + container.id)
            guard try container.awaitStartRequest() else {
                progress.say("container ended before it was started")
                report(failures: container.delete(exitCode: nil))
                return (125, true)
            }
        }
        do {
            try container.start()
        } catch {
            let failure = RunFailure.from(error)
            // A created or restarted container that failed to start stays, with why (`contain
            // start` reports it, as docker start does); a run's container goes.
            report(failures: container.delete(exitCode: createOnly || reopen ? failure.exitCode : nil, error: failure.description))
            throw failure
        }
        if timings.enabled { Progress.emit("[contain] timings: " + timings.summary + "\n") }
        if contain.detached && !createOnly, let record = container.record {
            Progress.switchToLog(record.directory + "/runtime.log", marker: Self.startedMarker + container.id)
        }
        let started = StartTimings.now()
        let status = try container.wait()
        let ended = StartTimings.now()
        // Read to be said, or to keep an OOM kill in a record that stays (inspect's OOMKilled).
        let kept = container.record?.info.keep ?? false
        report(status, usage: progress.quiet && !kept ? nil : container.usage(),
               memoryLimit: ResourceLimits(container.config.linux.resources).memory, progress: progress)
        let stoppedByUser = container.record?.stoppedByUser ?? false
        report(failures: container.delete(exitCode: status.shellCode))
        if timings.enabled {
            Progress.emit("[contain] timings after exec: command \(StartTimings.milliseconds(ended - started))  "
                          + "teardown \(StartTimings.milliseconds(StartTimings.now() - ended))\n")
        }
        return (status.shellCode, stoppedByUser)
    }

    private static func report(failures: [String]) {
        for failure in failures { Progress.error(failure) }
    }

    private static func report(_ status: WaitStatus, usage: CgroupUsage?, memoryLimit: ByteSize?, progress: Progress) {
        switch status {
        case .exited(let code):
            progress.say("container exited: exit status \(code)")
        case .signaled(let signal, _):
            progress.say("container killed by signal \(signal) (\(Signals.name(signal)))")
        }
        guard let usage else { return }
        if usage.oomKills > 0 {
            let limit = memoryLimit.map { " (memory limit \($0))" } ?? ""
            progress.say("container was OOM-killed\(limit)")
        }
        let summary = usage.summary
        if !summary.isEmpty { progress.say("usage: \(summary)") }
    }
}
