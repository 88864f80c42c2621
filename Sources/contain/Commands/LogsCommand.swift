import ArgumentParser
import ContainRuntime
import ContainSystem

/// `contain logs [-f] [--tail N] [-t] [--since T] [--until T] NAME`: a detached or created
/// container's output as its supervisor logged it, stdout on stdout and stderr on stderr.
struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a detached container's output.")

    @OptionGroup var state: StateOptions
    @Flag(name: [.short, .customLong("follow")], help: "Keep printing new output until the container ends.") var follow = false
    @Option(name: [.customShort("n"), .customLong("tail")], help: ArgumentHelp("Only the last N lines (or all).", valueName: "N"))
    var tail = "all"
    @Flag(name: [.short, .customLong("timestamps")], help: "Print each line's time (RFC 3339, nanoseconds) before it.")
    var timestamps = false
    @Option(help: ArgumentHelp("Only lines since a time: 2024-01-02T15:04:05Z, a duration before now (42s, 10m, 1h30m) or Unix seconds.",
                               valueName: "time"))
    var since: String?
    @Option(help: ArgumentHelp("Only lines until a time, in the same forms as --since.", valueName: "time"))
    var until: String?
    @Argument(help: "Container name or id.") var container: String

    func run() throws {
        let query = try LogQuery(follow: follow, tail: tail, since: since, until: until, timestamps: timestamps)
        try state.prepare()
        let view = try ContainerRecord.find(stateRoot: state.stateRoot, container)
        try ContainerLogs.show(view, query)
    }
}
