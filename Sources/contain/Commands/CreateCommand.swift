import ArgumentParser
import ContainRuntime

/// `contain create [run options] -- CMD`: everything `run` does up to the command, which waits
/// for `contain start`. Prints the id.
struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a container and leave its command waiting for `contain start`.",
        discussion: """
            Takes every option of `contain run` (see contain run --help). The container's
            namespaces, cgroup, network and root filesystem are made and its command is looked
            up; `contain start` runs it. Its output goes to `contain logs`, as with run -d.

            Example:
              id=$(contain create --rootfs ./rootfs --name job -- sh -c 'echo hi; exit 3')
              contain start -a job     # prints hi, exits 3
              contain rm job
            """)

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("contain run's options, then -- and the command.", valueName: "run options"))
    var arguments: [String] = []

    func run() throws {
        var options = try RunOptions.fast(arguments) ?? RunCommand.parse(arguments).options
        options.createOnly = true
        options.detach = false
        throw ExitCode(try options.run())
    }
}
