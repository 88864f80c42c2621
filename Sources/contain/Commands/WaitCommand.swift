import ArgumentParser
import ContainRuntime
#if canImport(Glibc)
import Glibc
#endif

/// `contain wait NAME...`: blocks until each container ends and prints its exit status.
struct WaitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait", abstract: "Wait until containers end; print each one's exit status.")

    @OptionGroup var state: StateOptions
    @Argument(help: "Container names or ids.") var containers: [String]

    func run() throws {
        try state.prepare()
        let views = try containers.map { try ContainerRecord.find(stateRoot: state.stateRoot, $0) }
        for view in views {
            var current = view
            while current.isAlive {
                usleep(20_000)
                guard let now = ContainerRecord.find(directory: view.directory) else {
                    throw RunFailure.runtime("container \(view.displayName) was removed when it ended (--rm): its status is gone")
                }
                current = now
            }
            guard case .exited(let code) = current.state else {
                throw RunFailure.runtime("container \(view.displayName) ended without an exit status (its supervisor died)")
            }
            print(code)
        }
    }
}
