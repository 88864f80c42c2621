import ArgumentParser
import ContainNetwork
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

struct KillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kill", abstract: "Send a signal to a container (default SIGKILL).")

    @OptionGroup var state: StateOptions
    @Option(name: [.short, .customLong("signal")], help: ArgumentHelp("Signal name or number.", valueName: "signal"))
    var signal = "KILL"
    @Argument(help: "Container names or ids.") var containers: [String]

    func run() throws {
        try state.prepare()
        guard let number = Signals.parse(signal) else { throw RunFailure.runtime("unknown signal `\(signal)`") }
        for reference in containers {
            let view = try ContainerRecord.find(stateRoot: state.stateRoot, reference)
            // A signal that ends it: no restart policy starts it again (docker's manual stop).
            if number == SIGKILL || number == view.info.stopSignal { ContainerRecord.markStoppedByUser(view) }
            try signalContainer(view, number)
            // As docker: a paused container is thawed after SIGKILL or its stop signal.
            if number == SIGKILL || number == view.info.stopSignal { ContainerRecord.thawAfterSignal(view) }
            print(reference)
        }
    }
}
