import ArgumentParser
import ContainRuntime

/// `contain rename OLD NEW`.
struct RenameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rename", abstract: "Rename a container.",
        discussion: """
            The new name must be free: a name belongs to a container until it is removed. \
            ps, inspect, exec and every other command know the container by its new name at \
            once; the old name is free. The hosts files of the other containers on its network \
            keep the old name.
            Example: contain rename web frontend
            """)

    @OptionGroup var state: StateOptions
    @Argument(help: "The container's name or id.") var container: String
    @Argument(help: "Its new name.") var newName: String

    func run() throws {
        try state.prepare()
        let view = try ContainerRecord.find(stateRoot: state.stateRoot, container)
        try ContainerRecord.changeName(of: view, to: newName, stateRoot: state.stateRoot)
    }
}
