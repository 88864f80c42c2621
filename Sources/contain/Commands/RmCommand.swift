import ArgumentParser
import ContainNetwork
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

struct RmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove containers that have ended (-f: stop them first).",
        discussion: "Everything the container had goes: its cgroups, network lease and port rules, record and name.",
        aliases: ["delete"])

    @OptionGroup var state: StateOptions
    @Flag(name: [.short, .customLong("force")], help: "Kill a running container first.") var force = false
    @Argument(help: "Container names or ids.") var containers: [String]

    func run() throws {
        // Looked up before the reclaim that every command does first: a container that ended
        // with nobody to clean up (stopped after its supervisor died) is reclaimed by it, and
        // that is its removal. All are checked before any is removed: a refusal changes nothing.
        try state.requireRoot()
        let views = try containers.map { try ContainerRecord.find(stateRoot: state.stateRoot, $0) }
        try state.prepare()
        if !force, let running = views.first(where: \.isAlive) {
            throw RunFailure.runtime("container \(running.displayName) is running: stop it first, or use rm -f")
        }
        for (reference, view) in zip(containers, views) {
            if view.isAlive {
                ContainerRecord.markStoppedByUser(view)
                try? signalContainer(view, SIGKILL)
                ContainerRecord.thawAfterSignal(view)  // cgroup v1: a frozen process dies once thawed
                guard waitUntilEnded(view, timeout: 20) else {
                    throw RunFailure.runtime("container \(view.displayName) did not end after SIGKILL")
                }
            }
            if let ended = ContainerRecord.find(directory: view.directory) {
                try Container.remove(ended, stateRoot: state.stateRoot, networkDirectory: state.networkDirectory)
            }
            print(reference)
        }
    }
}
