import ArgumentParser
import ContainRuntime

/// `contain top NAME`: the processes of a running container (host pids, from its cgroup).
struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "top", abstract: "List a running container's processes.")

    @OptionGroup var state: StateOptions
    @Argument(help: "Container name or id.") var container: String

    func run() throws {
        try state.prepare()
        let view = try ContainerRecord.find(stateRoot: state.stateRoot, container)
        guard view.isAlive else { throw RunFailure.runtime("container \(view.displayName) is not running") }
        var rows = [["PID", "COMMAND"]]
        for process in ContainerProcesses.list(view) { rows.append([String(process.pid), process.command]) }
        print(Table.render(rows), terminator: "")
    }
}
