import ArgumentParser
import ContainNetwork
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain net top [NETWORK]`: live counters of every endpoint, from the host ends' link
/// statistics (rtnetlink), one row per container interface, busiest first.
struct NetTop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top", abstract: "Live traffic of every endpoint of the networks (or one network).",
        discussion: """
            Refreshed every second: redrawn in place on a terminal, one table after another when
            piped. Rates are per second since the last reading, seen from the container: RX is
            what it received. DROPS and ERRORS are totals.

            Examples:
              contain net top
              contain net top lab --no-stream
              contain net top --no-stream --json
            """)

    @OptionGroup var state: StateOptions
    @Flag(name: .customLong("no-stream"), help: "Print one reading (after one second) and exit.") var noStream = false
    @Flag(help: "Print JSON (one array per reading).") var json = false
    @Argument(help: "Only this network's endpoints.") var network: String?

    /// One endpoint's counters at one moment.
    struct Sample {
        var container: String
        var network: String
        var interface: String
        var address: String
        var stats: LinkStats
        var at: Double
    }

    /// One row: the rates between two samples of the same endpoint.
    struct Row: Equatable {
        var container: String
        var network: String
        var interface: String
        var address: String
        var rxBits: Double, txBits: Double, rxPackets: Double, txPackets: Double
        var drops: UInt64, errors: UInt64
    }

    func run() throws {
        try state.prepare()
        let manager = NetworkManager(store: NetworkStore(directory: state.networkDirectory))
        if let network, try !manager.status().contains(where: { $0.definition.name == network }) {
            throw NetworkError.notFound("network `\(network)` not found")
        }
        var previous = try sample(manager)
        let redraw = isatty(1) == 1 && !noStream && !json
        while true {
            usleep(1_000_000)
            let current = try sample(manager)
            let rows = Self.rows(previous: previous, current: current)
            previous = current
            let text = json ? JSON.array(rows.map(Self.json)).text + "\n" : Self.table(rows)
            writeStandardOutput((redraw ? "\u{1b}[H\u{1b}[2J" : "") + text + (redraw || noStream || json ? "" : "\n"))
            if noStream { return }
        }
    }

    private func sample(_ manager: NetworkManager) throws -> [String: Sample] {
        var samples: [String: Sample] = [:]
        let now = MonotonicClock.seconds
        for status in try manager.status() where network == nil || status.definition.name == network {
            let d = status.definition
            for lease in status.leases {
                guard let stats = status.hostInterfaces[lease.hostInterface]?.stats else { continue }
                let address = "\(lease.address)" + (lease.address6.map { ",\($0)" } ?? "")
                samples[lease.hostInterface] = Sample(container: lease.name ?? String(lease.containerID.prefix(12)), network: d.name,
                                                      interface: Self.containerInterface(lease), address: address, stats: stats, at: now)
            }
        }
        return samples
    }

    /// `eth0` for the host end `vethXXXXXXXX`, `eth1` for `vethXXXXXXXX-1` (Endpoint's naming).
    static func containerInterface(_ lease: Lease) -> String {
        "eth\(Endpoint.index(hostInterface: lease.hostInterface, containerID: lease.containerID))"
    }

    /// The host end's counters turned around: what the host end sent, the container received.
    static func rows(previous: [String: Sample], current: [String: Sample]) -> [Row] {
        current.map { key, now -> Row in
            let before = previous[key]
            let seconds = before.map { max(now.at - $0.at, 0.001) } ?? 1
            func rate(_ value: (LinkStats) -> UInt64) -> Double {
                guard let before else { return 0 }
                let a = value(before.stats), b = value(now.stats)
                return b >= a ? Double(b - a) / seconds : 0
            }
            let s = now.stats
            return Row(container: now.container, network: now.network, interface: now.interface, address: now.address,
                       rxBits: rate(\.txBytes) * 8, txBits: rate(\.rxBytes) * 8, rxPackets: rate(\.txPackets), txPackets: rate(\.rxPackets),
                       drops: s.rxDropped + s.txDropped, errors: s.rxErrors + s.txErrors)
        }.sorted { ($0.rxBits + $0.txBits, $1.container) > ($1.rxBits + $1.txBits, $0.container) }
    }

    static func table(_ rows: [Row]) -> String {
        var table = [["CONTAINER", "NETWORK", "INTERFACE", "ADDRESS", "RX", "TX", "RX PKT/S", "TX PKT/S", "DROPS", "ERRORS"]]
        for r in rows {
            table.append([r.container, r.network, r.interface, r.address, bits(r.rxBits), bits(r.txBits),
                          HumanSize.significant(r.rxPackets, digits: 4), HumanSize.significant(r.txPackets, digits: 4),
                          String(r.drops), String(r.errors)])
        }
        return Table.render(table)
    }

    /// `0bit/s`, `840bit/s`, `12.35kbit/s`, `4.998Mbit/s`: decimal units, as tc and iperf3 count.
    static func bits(_ value: Double) -> String {
        let units = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"]
        var v = max(value, 0), unit = 0
        while v >= 1000 && unit < units.count - 1 {
            v /= 1000
            unit += 1
        }
        return HumanSize.significant(v, digits: 4) + units[unit]
    }

    static func json(_ r: Row) -> JSON {
        JSON.object([("container", .string(r.container)), ("network", .string(r.network)), ("interface", .string(r.interface)),
                     ("address", .string(r.address)), ("rx_bits_per_second", .number(Int64(r.rxBits.rounded()))),
                     ("tx_bits_per_second", .number(Int64(r.txBits.rounded()))),
                     ("rx_packets_per_second", .number(Int64(r.rxPackets.rounded()))),
                     ("tx_packets_per_second", .number(Int64(r.txPackets.rounded()))),
                     ("drops", .number(Int64(r.drops))), ("errors", .number(Int64(r.errors)))])
    }
}
