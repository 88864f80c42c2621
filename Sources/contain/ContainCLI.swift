import ArgumentParser
import ContainNetwork
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

struct ContainCommand: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "contain",
        abstract: "Run a command in an isolated Linux container.",
        version: version,
        subcommands: [RunCommand.self, CreateCommand.self, StartCommand.self, AttachCommand.self, WaitCommand.self, PsCommand.self, InspectCommand.self, PortCommand.self, TopCommand.self,
                      KillCommand.self, StopCommand.self, RmCommand.self, LogsCommand.self, ExecCommand.self,
                      StatsCommand.self, GcCommand.self, NetCommand.self, LabCommand.self,
                      PauseCommand.self, UnpauseCommand.self, RenameCommand.self, CpCommand.self, ContainerCommand.self,
                      VolumeCommand.self, RootfsCommand.self, CompletionCommand.self, ManPageCommand.self,
                      RestartCommand.self, SuperviseCommand.self]
    )
}

extension ContainCommand {
    /// Whether `name` is a command (or an alias of one), hidden ones and `help` included.
    static func knows(_ name: String) -> Bool {
        name == "help" || configuration.subcommands.contains { command in
            command.configuration.commandName == name || command.configuration.aliases.contains(name)
        }
    }
}

/// Parses, runs, and turns every way out into one line on stderr and the right exit code:
/// 0 for help and version, 125 for the runtime's own errors and bad input, 126 and 127 when the
/// command cannot run, otherwise the container's own status (128+N for signal N).
enum ContainCLI {
    static func main(_ arguments: [String]) -> Never {
        var arguments = arguments
        // `contain --root DIR COMMAND ...`: the global form of each command's --root.
        if arguments.count >= 2 && arguments[0] == "--root" {
            setenv("CONTAIN_ROOT", arguments[1], 1)
            arguments.removeFirst(2)
        } else if let first = arguments.first, first.hasPrefix("--root=") {
            setenv("CONTAIN_ROOT", String(first.dropFirst("--root=".count)), 1)
            arguments.removeFirst()
        }
        do {
            if arguments.first == "run", let options = RunOptions.fast(Array(arguments.dropFirst())) {
                exit(try options.run())
            }
            if arguments.first == "exec", let options = ExecOptions.fast(Array(arguments.dropFirst())) {
                exit(try options.run())
            }
            if let first = arguments.first, !first.hasPrefix("-"), !ContainCommand.knows(first) {
                Progress.error("unknown command \"\(first)\" (see contain --help)")
                exit(125)
            }
            var command = try ContainCommand.parseAsRoot(arguments)
            try command.run()
            exit(0)
        } catch let failure as RunFailure {
            Progress.error(failure.description)
            exit(failure.exitCode)
        } catch let error as SpecError {
            Progress.error(error.description)
            exit(125)
        } catch let error as NetworkError {
            Progress.error(error.description)
            exit(125)
        } catch let error as SystemError {
            Progress.error(error.description)
            exit(125)
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch {
            if ContainCommand.exitCode(for: error) == .success {
                print(ContainCommand.fullMessage(for: error))
                exit(0)
            }
            Progress.error(ContainCommand.message(for: error))
            exit(125)
        }
    }
}
