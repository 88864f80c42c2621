import ArgumentParser
import ContainNetwork
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

struct StopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop containers: SIGTERM, then SIGKILL after a timeout.")

    @OptionGroup var state: StateOptions
    @Option(name: [.short, .customLong("time")], help: ArgumentHelp("Seconds to wait before SIGKILL (default: the container's --stop-timeout, 10).", valueName: "seconds"))
    var time: Int?
    @Argument(help: "Container names or ids.") var containers: [String]

    func run() throws {
        try state.prepare()
        if let time, time < 0 { throw RunFailure.runtime("invalid -t \(time): must be 0 or more") }
        for reference in containers {
            Self.stop(try ContainerRecord.find(stateRoot: state.stateRoot, reference), time: time)
            print(reference)
        }
    }

    /// The stop signal, then SIGKILL after the timeout; marked as stopped by hand first, so a
    /// restart policy leaves it stopped: an ended one too, whose supervisor may be waiting to
    /// restart it (the mark goes with its next start).
    static func stop(_ view: ContainerView, time: Int?) {
        ContainerRecord.markStoppedByUser(view)
        guard view.isAlive else { return }
        if view.state == .created {
            try? signalContainer(view, SIGKILL)
            _ = waitUntilEnded(view, timeout: 10)
        } else {
            try? signalContainer(view, view.info.stopSignal)
            ContainerRecord.thawAfterSignal(view)  // as docker: a paused container acts on it
            if !waitUntilEnded(view, timeout: Double(time ?? view.info.stopTimeout)) {
                try? signalContainer(view, SIGKILL)
                _ = waitUntilEnded(view, timeout: 10)
            }
        }
    }
}
