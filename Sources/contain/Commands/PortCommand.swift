import ArgumentParser
import ContainNetwork
import ContainRuntime

/// `contain port NAME`: the ports it publishes, as docker prints them.
struct PortCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "port", abstract: "List a container's published ports.")

    @OptionGroup var state: StateOptions
    @Argument(help: "Container name or id.") var container: String

    func run() throws {
        try state.prepare()
        let view = try ContainerRecord.find(stateRoot: state.stateRoot, container)
        let config = try ContainerRecord.configuration(of: view)
        for text in config.contain.networkAttachments.flatMap(\.ports) {
            guard let port = try? PortMapping(parsing: text) else { continue }
            print("\(port.containerPort)/\(port.transport.rawValue) -> \(port.hostSide)")
        }
    }
}
