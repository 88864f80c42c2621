import ArgumentParser
import ContainNetwork
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a detached container's output.")

    @OptionGroup var state: StateOptions
    @Flag(name: [.short, .customLong("follow")], help: "Keep printing new output until the container ends.") var follow = false
    @Argument(help: "Container name or id.") var container: String

    func run() throws {
        try state.prepare()
        let view = try ContainerRecord.find(stateRoot: state.stateRoot, container)
        try ContainerLogs.copy(view, follow: follow)
    }
}
