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
        let progress = context.progress, timings = context.timings
        // The flags compile into the one configuration; the container is made from it alone.
        let id = try spec.id ?? Identifiers.randomHex()
        let config = ContainerConfig(spec: spec, id: id, term: getenv("TERM").map { String(cString: $0) })
        let container = try Container.create(config, id: id, createOnly: spec.createOnly, interactive: spec.interactive,
                                             stopSignal: spec.stopSignal, stopTimeout: spec.stopTimeout, logOptions: spec.logOptions,
                                             context: context)
        if spec.createOnly {
            // `contain create`: tell the waiting `contain create` the id, then wait for `start`.
            guard let record = container.record else { return 125 }
            Progress.switchToLog(record.directory + "/runtime.log", marker: Self.startedMarker + container.id)
            guard try container.awaitStartRequest() else {
                progress.say("container ended before it was started")
                report(failures: container.delete(exitCode: nil))
                return 125
            }
        }
        do {
            try container.start()
        } catch {
            let failure = RunFailure.from(error)
            // A created container that failed to start stays, with why (`contain start` reports
            // it, as docker start does); a run's container goes.
            report(failures: container.delete(exitCode: spec.createOnly ? failure.exitCode : nil, error: failure.description))
            throw failure
        }
        if timings.enabled { Progress.emit("[contain] timings: " + timings.summary + "\n") }
        if spec.detached && !spec.createOnly, let record = container.record {
            Progress.switchToLog(record.directory + "/runtime.log", marker: Self.startedMarker + container.id)
        }
        let status = try container.wait()
        report(status, usage: container.usage(), memoryLimit: ResourceLimits(container.config.linux.resources).memory)
        report(failures: container.delete(exitCode: status.shellCode))
        return status.shellCode
    }

    private func report(failures: [String]) {
        for failure in failures { Progress.error(failure) }
    }

    private func report(_ status: WaitStatus, usage: CgroupUsage?, memoryLimit: ByteSize?) {
        let progress = context.progress
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
