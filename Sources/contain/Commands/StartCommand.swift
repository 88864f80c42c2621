import ArgumentParser
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain start [-a] NAME...`: runs the command of created containers.
struct StartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start", abstract: "Start created containers (-a: follow the output and exit with the container's status).")

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
            case .exited, .dead:
                throw RunFailure.runtime("container \(view.displayName) has ended (\(view.stateDescription)): create a new one")
            }
            if attach { throw ExitCode(try follow(view)) }
            print(reference)
        }
    }

    /// Asks its supervisor to start it, and waits until it runs or has failed to.
    private func start(_ view: ContainerView) throws {
        try ContainerRecord.requestStart(view)
        let deadline = monotonicSeconds() + 60
        while monotonicSeconds() < deadline {
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
