import ArgumentParser
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain container ...`: docker's management group for containers.
struct ContainerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "container", abstract: "Manage containers.",
        discussion: "contain container ls, rm and inspect are contain ps, rm and inspect.",
        subcommands: [ContainerPruneCommand.self, ContainerListCommand.self, RmCommand.self, InspectCommand.self])
}

/// `contain container ls`: `contain ps` under docker's other name.
struct ContainerListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List containers (contain ps).", aliases: ["ps", "list"])

    @OptionGroup var ps: PsCommand

    func run() throws { try ps.run() }
}

/// `contain container prune [-f]`: every stopped container's record removed, as `rm` removes it.
struct ContainerPruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Remove all stopped containers.",
        discussion: """
            Removes every container that has ended (exited, or dead: its runtime died), with all \
            it had, as contain rm does; running, paused and created containers stay. Prints the \
            ids removed and the space their records (copy-on-write layer, logs) took. Asks first \
            when stdin is a terminal; -f does not ask, and is needed when stdin is not a terminal.
            Example: contain container prune -f
            """)

    @OptionGroup var state: StateOptions
    @Flag(name: [.short, .customLong("force")], help: "Do not prompt for confirmation.") var force = false

    static let prompt = "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] "

    func run() throws {
        try state.requireRoot()
        guard try force || Self.confirmed(Self.prompt, command: "contain container prune") else { return }
        // Looked at before the reclaim every command does first: a dead container that the
        // reclaim removes is pruned too, and counted.
        let ended = ContainerRecord.list(stateRoot: state.stateRoot).filter { !$0.isAlive }
        let sizes = ended.map(ContainerRecord.diskUsage)
        try state.prepare()
        var deleted: [String] = []
        var reclaimed: Int64 = 0
        var failed = false
        for (view, size) in zip(ended, sizes) {
            do {
                if let current = ContainerRecord.find(directory: view.directory) {
                    guard !current.isAlive else { continue }
                    try Container.remove(current, stateRoot: state.stateRoot, networkDirectory: state.networkDirectory)
                }
                deleted.append(view.info.id)
                reclaimed += size
            } catch {
                Progress.error("removing container \(view.shortID): \(error)")
                failed = true
            }
        }
        print(Self.report(deleted: deleted, reclaimed: reclaimed), terminator: "")
        if failed { throw ExitCode(125) }
    }

    /// A prune's question, asked as docker asks it: on a terminal; without one, refused (the
    /// caller must say -f). True once the answer is yes.
    static func confirmed(_ prompt: String, command: String) throws -> Bool {
        guard isatty(0) == 1 else {
            throw RunFailure.runtime("not removing anything without confirmation: stdin is not a terminal; use \(command) -f")
        }
        Progress.emit(prompt)
        return confirms(readLine())
    }

    /// docker's answer check: y or yes, in any case.
    static func confirms(_ answer: String?) -> Bool {
        guard let answer else { return false }
        let word = answer.lowercased().filter { $0 != " " && $0 != "\t" && $0 != "\r" }
        return word == "y" || word == "yes"
    }

    /// What docker prints: the ids under `Deleted Containers:` and a blank line (when any),
    /// then the total.
    static func report(deleted: [String], reclaimed: Int64) -> String {
        var text = ""
        if !deleted.isEmpty { text += "Deleted Containers:\n" + deleted.map { $0 + "\n" }.joined() + "\n" }
        return text + "Total reclaimed space: " + HumanSize.format(reclaimed) + "\n"
    }
}
