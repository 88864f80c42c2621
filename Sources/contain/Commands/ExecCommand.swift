import ArgumentParser
import ContainNetwork
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

struct ExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec", abstract: "Run a command inside a running container.",
        discussion: "Example: contain exec web -- ps")

    @OptionGroup var state: StateOptions
    @Option(name: [.customShort("e"), .customLong("env")], help: ArgumentHelp("Set an environment variable (repeatable).", valueName: "key=value"))
    var env: [String] = []
    @Option(name: [.customShort("w"), .customLong("workdir")], help: ArgumentHelp("Working directory inside the container.", valueName: "dir"))
    var workdir: String?
    @Option(name: [.customShort("u"), .customLong("user")], help: ArgumentHelp("Run as UID[:GID] or NAME[:GROUP].", valueName: "user"))
    var user: String?
    @Flag(name: [.customShort("t"), .customLong("tty")], help: "Give the command a terminal of its own (a pty), relayed to this one.")
    var tty = false
    @Flag(name: [.customShort("i"), .customLong("interactive")], help: "Keep stdin open and relay it to the command.")
    var interactive = false
    @Argument(help: "Container name or id.") var container: String
    @Argument(parsing: .remaining, help: ArgumentHelp("The command to run, after --.", valueName: "command"))
    var command: [String] = []

    func run() throws {
        try state.prepare()
        let argv = command.first == "--" ? Array(command.dropFirst()) : command
        guard !argv.isEmpty else { throw RunFailure.runtime("no command given: contain exec NAME -- CMD [ARGS...]") }
        let environment = try env.compactMap { entry throws(SpecError) in try EnvironmentEntries.resolve(entry) }
        if let workdir, !workdir.hasPrefix("/") { throw SpecError("invalid -w `\(workdir)`: must be an absolute path") }
        let view = try ContainerRecord.find(stateRoot: state.stateRoot, container)
        let request = ContainerExec.Request(command: argv, environment: environment, workdir: workdir,
                                            user: try user.map { text throws(SpecError) in try UserSpec(parsing: text) },
                                            tty: tty, interactive: interactive)
        // Like docker exec, no progress lines: the command's own output is all there is.
        throw ExitCode(try ContainerExec.run(view, request, progress: Progress(quiet: true)))
    }
}
