import ArgumentParser
import ContainNetwork
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Live CPU, memory, pids and network counters of running containers.",
        discussion: """
            Refreshed every second: redrawn in place on a terminal, one table after another when
            piped (each written whole, as soon as it is read). NET RATE is what the container
            received / sent per second since the last reading.

            Examples:
              contain stats
              contain stats --no-stream web
              contain stats --no-stream --format '{{.Name}}\\t{{.CPUPerc}}\\t{{.MemUsage}}'
              contain stats --no-stream --format json
            """)

    @OptionGroup var state: StateOptions
    @Flag(name: .customLong("no-stream"), help: "Print one reading and exit.") var noStream = false
    @Flag(name: .shortAndLong, help: "All containers, not only running ones.") var all = false
    @Flag(name: .customLong("no-trunc"), help: "Full ids.") var noTrunc = false
    @Option(help: ArgumentHelp("table, json, or a template such as 'table {{.Name}}\\t{{.CPUPerc}}'.", valueName: "format"))
    var format: String?
    @Flag(help: "The same as --format json.") var json = false
    @Argument(help: "Container names or ids (default: all running).") var containers: [String] = []

    static let headers = [
        "ID": "CONTAINER ID", "Container": "CONTAINER", "Name": "NAME", "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT",
        "MemPerc": "MEM %", "NetIO": "NET I/O", "NetRate": "NET RATE", "PIDs": "PIDS",
    ]

    func run() throws {
        try state.prepare()
        let format = json ? RowFormat.json : RowFormat(format)
        func views() throws -> [ContainerView] {
            if containers.isEmpty { return ContainerRecord.list(stateRoot: state.stateRoot).filter { all || $0.isRunning } }
            return try containers.map { try ContainerRecord.find(stateRoot: state.stateRoot, $0) }
        }
        var previous = ContainerStatsSample.read(try views().filter(\.isRunning))
        let redraw = isatty(1) == 1 && !noStream
        while true {
            usleep(1_000_000)
            let current = try views()
            let samples = ContainerStatsSample.read(current.filter(\.isRunning))
            let rows = current.map { view in Self.row(view, sample: samples[view.info.id], previous: previous[view.info.id], fullID: noTrunc) }
            for (id, sample) in samples { previous[id] = sample }
            let text = try format.render(rows, headers: Self.headers) ?? Self.table(rows)
            // A terminal is redrawn in place (cursor home, clear), as docker does.
            writeStandardOutput((redraw ? "\u{1b}[H\u{1b}[2J" : "") + text + (redraw || noStream ? "" : "\n"))
            if noStream { return }
        }
    }

    /// One container's reading, with docker's field names (and NetRate, contain's own).
    static func row(_ view: ContainerView, sample: ContainerStatsSample?, previous: ContainerStatsSample?, fullID: Bool) -> JSON {
        let id = fullID ? view.info.id : view.shortID
        var cpu = "--", memory = "-- / --", memoryPercent = "--", net = "--", rate = "--", pids = "--"
        if let sample {
            cpu = (previous.flatMap { ContainerStatsSample.cpuPercent(from: $0, to: sample) } ?? 0).formattedPercent
            let used = sample.memoryBytes.map { ByteSize(bytes: $0).formatted(exact: false) } ?? "--"
            memory = used + " / " + (sample.memoryLimit.map { ByteSize(bytes: $0).formatted(exact: false) } ?? "no limit")
            if let bytes = sample.memoryBytes, let limit = sample.memoryLimit, limit > 0 {
                memoryPercent = (Double(bytes) / Double(limit) * 100).formattedPercent
            }
            if let received = sample.networkReceived, let sent = sample.networkSent {
                net = ByteSize(bytes: received).formatted(exact: false) + " / " + ByteSize(bytes: sent).formatted(exact: false)
                if let previous, let r0 = previous.networkReceived, let s0 = previous.networkSent, sample.takenAt > previous.takenAt {
                    let seconds = Double(sample.takenAt - previous.takenAt) / 1e9
                    rate = bitRate(Double(received &- r0) * 8 / seconds) + " / " + bitRate(Double(sent &- s0) * 8 / seconds)
                }
            } else {
                net = "-"; rate = "-"
            }
            pids = sample.pids.map { String($0) } ?? "--"
        }
        return .object([
            ("Container", .string(view.info.name ?? id)), ("ID", .string(id)), ("Name", .string(view.info.name ?? "-")),
            ("CPUPerc", .string(cpu)), ("MemUsage", .string(memory)), ("MemPerc", .string(memoryPercent)),
            ("NetIO", .string(net)), ("NetRate", .string(rate)), ("PIDs", .string(pids)),
        ])
    }

    static func table(_ rows: [JSON]) -> String {
        let keys = ["ID", "Name", "CPUPerc", "MemUsage", "MemPerc", "NetIO", "NetRate", "PIDs"]
        return Table.render([keys.map { headers[$0]! }] + rows.map { row in
            keys.map { key in
                if case .object(let fields) = row, case .string(let text)? = fields.first(where: { $0.0 == key })?.1 { return text }
                return ""
            }
        })
    }

    /// `1.5kbps`, `12Mbps`: bits per second in decimal units, as network people read them.
    static func bitRate(_ bits: Double) -> String {
        let units = ["bps", "kbps", "Mbps", "Gbps"]
        var value = max(bits, 0), unit = 0
        while value >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
        let tenths = Int((value * 10).rounded())
        return (tenths % 10 == 0 || value >= 100 ? "\(Int(value.rounded()))" : "\(tenths / 10).\(tenths % 10)") + units[unit]
    }
}

extension Double {
    /// `12.34%`.
    var formattedPercent: String {
        let hundredths = Int((self * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)%"
    }
}
