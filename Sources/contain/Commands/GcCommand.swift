import ArgumentParser
import ContainNetwork
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

struct GcCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gc", abstract: "Reclaim everything left by containers whose runtime died.")

    @OptionGroup var state: StateOptions

    func run() throws {
        guard geteuid() == 0 else { throw RunFailure.runtime("contain needs root privileges") }
        let reclaimed = ContainerRecord.reclaimAbandoned(stateRoot: state.stateRoot) { Progress(quiet: false).say($0) }
        // Reading the networks reclaims leases (and port rules, hosts entries) of dead owners.
        _ = try NetworkManager(store: NetworkStore(directory: state.networkDirectory)).status()
        for id in reclaimed { print(id.prefix(12)) }
    }
}
