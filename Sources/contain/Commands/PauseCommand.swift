import ArgumentParser
import ContainRuntime
#if canImport(Glibc)
import Glibc
#endif

/// `contain pause NAME...`: every process of each container frozen through the cgroup freezer.
struct PauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause", abstract: "Pause all processes within one or more containers.",
        discussion: """
            Freezes every process of each container with the cgroup freezer (cgroup.freeze on \
            cgroup v2, freezer.state in the freezer hierarchy on v1); they use no CPU until \
            `contain unpause`. ps shows the container as paused; stop, kill and rm -f still work.
            Example: contain pause web
            """)

    @OptionGroup var state: StateOptions
    @Argument(help: "Container names or ids.") var containers: [String]

    func run() throws {
        try state.prepare()
        try forEachContainer(containers, stateRoot: state.stateRoot) { reference, view in
            try ContainerRecord.pause(view)
            print(reference)
        }
    }
}

/// `contain unpause NAME...`: the containers' processes thawed.
struct UnpauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unpause", abstract: "Unpause all processes within one or more containers.",
        discussion: "Example: contain unpause web")

    @OptionGroup var state: StateOptions
    @Argument(help: "Container names or ids.") var containers: [String]

    func run() throws {
        try state.prepare()
        try forEachContainer(containers, stateRoot: state.stateRoot) { reference, view in
            try ContainerRecord.unpause(view)
            print(reference)
        }
    }
}
