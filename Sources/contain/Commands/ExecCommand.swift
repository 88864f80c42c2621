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
        throw ExitCode(try options.run())
    }

    /// What was parsed, as plain values (the fast path produces the same, see ExecOptions).
    var options: ExecOptions {
        ExecOptions(root: state.root, env: env, workdir: workdir, user: user, tty: tty, interactive: interactive,
                    container: container, command: command.first == "--" ? Array(command.dropFirst()) : command)
    }
}

/// `contain exec`'s options as plain values. Like `run`, a well-formed `exec` command line is
/// parsed here without swift-argument-parser, whose parse cost about 1.5 ms of a 7 ms exec
/// (its generic metadata instantiated at every start); anything this parser is not sure of
/// (help, an unknown or malformed option) is left to ExecCommand, which says what is wrong. A
/// unit test holds both to the same answers.
struct ExecOptions: Equatable {
    var root: String?
    var env: [String] = []
    var workdir: String?
    var user: String?
    var tty = false
    var interactive = false
    var container = ""
    /// Without the `--` that may come before it.
    var command: [String] = []

    /// Parses `ARGS` of `contain exec ARGS`, or returns nil to leave it to ExecCommand. Options
    /// come before the container; everything after it (past a `--`) is the command.
    static func fast(_ arguments: [String]) -> ExecOptions? {
        var options = ExecOptions()
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            if !argument.hasPrefix("-") {
                options.container = argument
                let rest = arguments[(i + 1)...]
                // Without `--`, ExecCommand reads a word of the command that starts with `-` as
                // an option (and refuses it): left to it.
                if rest.first != "--" && rest.contains(where: { $0.hasPrefix("-") }) { return nil }
                options.command = Array(rest.first == "--" ? rest.dropFirst() : rest)
                return options.command.isEmpty ? nil : options
            }
            if argument == "-t" || argument == "--tty" { options.tty = true; i += 1; continue }
            if argument == "-i" || argument == "--interactive" { options.interactive = true; i += 1; continue }
            if argument == "-it" || argument == "-ti" { options.tty = true; options.interactive = true; i += 1; continue }
            guard let (key, value) = RunOptions.keyValue(arguments, &i) else { return nil }
            switch key {
            case "-e", "--env": options.env.append(value)
            case "-w", "--workdir": options.workdir = value
            case "-u", "--user": options.user = value
            case "--root": options.root = value
            default: return nil
            }
            i += 1
        }
        return nil
    }

    /// Runs the command in the container; returns its exit status for `contain`.
    func run() throws -> Int32 {
        try StateOptions.prepare(root: root)
        guard !command.isEmpty else { throw RunFailure.runtime("no command given: contain exec NAME -- CMD [ARGS...]") }
        let environment = try env.compactMap { entry throws(SpecError) in try EnvironmentEntries.resolve(entry) }
        if let workdir, !workdir.hasPrefix("/") { throw SpecError("invalid -w `\(workdir)`: must be an absolute path") }
        let view = try ContainerRecord.find(stateRoot: StateOptions.resolve(root: root).stateRoot, container)
        let request = ContainerExec.Request(command: command, environment: environment, workdir: workdir,
                                            user: try user.map { text throws(SpecError) in try UserSpec(parsing: text) },
                                            tty: tty, interactive: interactive)
        // Like docker exec, no progress lines: the command's own output is all there is.
        return try ContainerExec.run(view, request, progress: Progress(quiet: true))
    }
}
