import ArgumentParser
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain restart [-t N] NAME...`: stop (as `contain stop`) and start again in place.
struct RestartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart",
        abstract: "Stop containers and start them again (same id, name, files and log).",
        discussion: """
            A running container is stopped as by contain stop (its stop signal, SIGKILL after the
            timeout), then started again as by contain start; an ended one is only started. Only
            containers kept after they end (run -d or create, without --rm) can start again.
            """)

    @OptionGroup var state: StateOptions
    @Option(name: [.short, .customLong("time")], help: ArgumentHelp("Seconds to wait before SIGKILL (default: the container's --stop-timeout).", valueName: "seconds"))
    var time: Int?
    @Argument(help: "Container names or ids.") var containers: [String]

    func run() throws {
        try state.prepare()
        if let time, time < 0 { throw RunFailure.runtime("invalid -t \(time): must be 0 or more") }
        try forEachContainer(containers, stateRoot: state.stateRoot) { reference, view in
            StopCommand.stop(view, time: time)
            guard let ended = ContainerRecord.find(directory: view.directory) else {
                throw RunFailure.runtime("container \(view.displayName) was removed when it stopped (--rm): it cannot start again")
            }
            try StartCommand.startAgain(ended, state: state)
            print(reference)
        }
    }
}

/// `contain __supervise ID`: the supervisor of a kept container started again (StartCommand,
/// RestartCommand), made from its record's configuration as `contain run -d` makes one from
/// flags.
struct SuperviseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "__supervise", abstract: "Supervise a container started again.",
                                                    shouldDisplay: false)

    @OptionGroup var state: StateOptions
    @Argument(help: "The container's id.") var id: String

    func run() throws {
        try state.requireRoot()
        let view = try ContainerRecord.find(stateRoot: state.stateRoot, id)
        let config = try ContainerRecord.configuration(of: view)
        // Its stderr is the pipe the starting command reads until the start, as run -d's.
        Progress.fd = dup(2)
        Progress.transcript = []
        let paths = StateOptions.resolve(root: state.root)
        let context = RuntimeContext(stateRoot: paths.stateRoot, networkDirectory: paths.networkDirectory, imageCache: paths.imageCache,
                                     volumeDirectory: paths.volumes, progress: Progress(quiet: false))
        throw ExitCode(try ContainerRunner.supervise(config, id: view.info.id, createOnly: false, reopen: true, context: context))
    }
}
