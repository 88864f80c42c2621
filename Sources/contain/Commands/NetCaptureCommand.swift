import ArgumentParser
import ContainNetwork
import ContainRuntime
#if canImport(Glibc)
import Glibc
#endif

/// `contain net capture TARGET [-w FILE] [-c N] [--duration T] [FILTER...]`: tcpdump for a
/// container's link or a network's bridge, through libpcap, without running tcpdump.
struct NetCapture: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture", abstract: "Capture a container's or a network's packets, as tcpdump does.",
        discussion: """
            TARGET is a running container (its eth0), CONTAINER:IFACE, or a network (its bridge: every
            container on it). Packets are read on the host's side of the link. FILTER is in tcpdump's
            syntax (pcap-filter(7)). Without -w, one line per packet; with -w, a pcap file that
            tcpdump -r and tshark -r read (-w - writes it to standard output). Ends after -c packets,
            after --duration, or at Ctrl-C, and prints the counts, as tcpdump does.

            Examples:
              contain net capture web
              contain net capture web icmp or arp
              contain net capture lab -w lab.pcap --duration 30s tcp port 80
              contain net capture web:eth1 -c 10 -w - | tshark -r -
            """)

    @OptionGroup var state: StateOptions
    @Argument(help: "A container, CONTAINER:IFACE, or a network.") var target: String
    @Argument(help: "A filter in tcpdump's syntax, e.g. `icmp` or `tcp port 80`.") var filter: [String] = []
    @Option(name: .customShort("w"), help: ArgumentHelp("Write a pcap file instead of printing (- for standard output).", valueName: "file"))
    var file: String?
    @Option(name: .customShort("c"), help: ArgumentHelp("Stop after this many packets.", valueName: "count")) var count: Int?
    @Option(help: ArgumentHelp("Stop after this long, e.g. 10s or 500ms.", valueName: "time")) var duration: String?

    func run() throws {
        try state.prepare()
        if let count, count < 1 { throw NetworkError.invalid("invalid count \(count): capture at least one packet") }
        if file?.isEmpty == true { throw NetworkError.invalid("invalid capture file: the name is empty") }
        let time = try duration.map { text throws(NetworkError) in try ImpairmentTime(parsing: text, name: "duration") }
        if let time, time.microseconds == 0 { throw NetworkError.invalid("invalid duration `\(duration ?? "")`: it must be more than 0") }
        let expression = filter.isEmpty ? nil : filter.joined(separator: " ")
        if let expression { try PacketCapture.checkFilter(expression) }
        let progress = Progress(quiet: false)
        let manager = NetworkManager(store: NetworkStore(directory: state.networkDirectory))
        let source = try LinkCapture.source(target, stateRoot: state.stateRoot, manager: manager)
        let summary = try LinkCapture.run(source, filter: expression, file: file, count: count, microseconds: time?.microseconds,
                                          listening: { progress.say($0) },
                                          printLine: { writeStandardOutput($0 + "\n") })
        if let ended = summary.ended { progress.say("capture ended: \(ended)") }
        Progress.emit(LinkCapture.report(summary).map { $0 + "\n" }.joined())
    }
}
