import ArgumentParser
import ContainNetwork
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Live CPU, memory, pids and network counters of running containers.")

    @OptionGroup var state: StateOptions
    @Flag(name: .customLong("no-stream"), help: "Print one reading and exit.") var noStream = false
    @Argument(help: "Container names or ids (default: all running).") var containers: [String] = []

    func run() throws {
        try state.prepare()
        func views() throws -> [ContainerView] {
            if containers.isEmpty { return ContainerRecord.list(stateRoot: state.stateRoot).filter(\.isRunning) }
            return try containers.map { try ContainerRecord.find(stateRoot: state.stateRoot, $0) }
        }
        var previous: [String: ContainerStatsSample] = [:]
        previous = ContainerStatsSample.read(try views())
        while true {
            usleep(1_000_000)
            let current = try views().filter(\.isRunning)
            let samples = ContainerStatsSample.read(current)
            var rows = [["ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "PIDS", "NET RX / TX"]]
            for v in current {
                guard let sample = samples[v.info.id] else { continue }
                let cpu = previous[v.info.id].flatMap { ContainerStatsSample.cpuPercent(from: $0, to: sample) }
                previous[v.info.id] = sample
                let memory = sample.memoryBytes.map { ByteSize(bytes: $0).formatted(exact: false) } ?? "-"
                let limit = sample.memoryLimit.map { ByteSize(bytes: $0).formatted(exact: false) } ?? "no limit"
                var net = "-"
                if let received = sample.networkReceived, let sent = sample.networkSent {
                    net = ByteSize(bytes: received).formatted(exact: false) + " / " + ByteSize(bytes: sent).formatted(exact: false)
                }
                let cpuText: String = cpu.map(Self.percent) ?? "-"
                let pidsText: String = sample.pids.map { String($0) } ?? "-"
                let row: [String] = [v.shortID, v.info.name ?? "-", cpuText, memory + " / " + limit, pidsText, net]
                rows.append(row)
            }
            print(Table.render(rows), terminator: "")
            if noStream { return }
            print("")
        }
    }
}

extension StatsCommand {
    /// `12.34%`.
    static func percent(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)%"
    }
}
