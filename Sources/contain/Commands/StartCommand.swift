import ArgumentParser
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain start [-a] NAME...`: runs the command of created containers, and starts again
/// containers that ended (kept by `run -d` or `create`), in place, as docker does.
struct StartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start", abstract: "Start created or stopped containers (-a: follow the output and exit with the container's status).")

    @OptionGroup var state: StateOptions
    @Flag(name: [.short, .customLong("attach")], help: "Print the container's output until it ends, then exit with its status.")
    var attach = false
    @Argument(help: "Container names or ids.") var containers: [String]

    func run() throws {
        try state.prepare()
        if attach && containers.count != 1 { throw RunFailure.runtime("start -a takes one container") }
        for reference in containers {
            let view = try ContainerRecord.find(stateRoot: state.stateRoot, reference)
            switch view.state {
            case .running: break  // as docker: starting a running container changes nothing
            case .created: try start(view)
            case .exited: try Self.startAgain(view, state: state)
            case .dead:
                throw RunFailure.runtime("container \(view.displayName) ended without a recorded status (its supervisor died): remove it and create a new one")
            }
            if attach { throw ExitCode(try follow(view)) }
            print(reference)
        }
    }

    /// An ended container, started again by a new supervisor (`contain __supervise ID`) in its
    /// record; returns once it runs, or throws why it could not start.
    static func startAgain(_ view: ContainerView, state: StateOptions) throws {
        let code = try DetachedSupervisor.start(existing: view.info.id) { id in
            (state.root.map { ["--root", $0] } ?? []) + ["__supervise", id]
        }
        if code != 0 { throw ExitCode(code) }
    }

    /// Asks its supervisor to start it, and waits until it runs or has failed to.
    private func start(_ view: ContainerView) throws {
        try ContainerRecord.requestStart(view)
        let deadline = MonotonicClock.seconds + 60
        while MonotonicClock.seconds < deadline {
            guard let now = ContainerRecord.find(directory: view.directory) else {
                throw RunFailure.runtime("container \(view.displayName) was removed while starting")
            }
            switch now.state {
            case .created: usleep(5_000); continue
            case .running: return
            case .exited(let code):
                // It may have run and ended already; an error means it never ran.
                guard let error = now.status.error else { return }
                Progress.error(error)
                throw ExitCode(code)
            case .dead:
                throw RunFailure.runtime("container \(view.displayName) died while starting")
            }
        }
        throw RunFailure.runtime("container \(view.displayName) did not start within 60 seconds")
    }

    /// Output until the end, then the container's exit status.
    private func follow(_ view: ContainerView) throws -> Int32 {
        try ContainerLogs.copy(view, follow: true)
        guard let ended = ContainerRecord.find(directory: view.directory) else {
            throw RunFailure.runtime("container \(view.displayName) was removed before its status could be read")
        }
        guard case .exited(let code) = ended.state else {
            throw RunFailure.runtime("container \(view.displayName) ended without an exit status (its supervisor died)")
        }
        return code
    }
}
