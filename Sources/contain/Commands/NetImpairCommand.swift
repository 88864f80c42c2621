import ArgumentParser
import ContainNetwork
import ContainRuntime
#if canImport(Glibc)
import Glibc
#endif

/// `contain net impair TARGET [OPTIONS]`: a link that misbehaves on purpose (netem, or tbf for
/// a rate alone), set over rtnetlink; alone, shows what is set.
struct NetImpair: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "impair", abstract: "Delay, lose, duplicate, corrupt, reorder or slow a container's traffic.",
        discussion: """
            TARGET is a running container (its eth0), CONTAINER:IFACE, or a network (every endpoint).
            egress is what the container sends (its own end of the veth), ingress what it receives
            (the host end). Without options, shows what is set; --clear removes it.
            --rate alone works on any kernel (tbf); the other options need netem
            (CONFIG_NET_SCH_NETEM), and are refused, with nothing changed, where it is missing.

            Examples:
              contain net impair web --delay 40ms --jitter 5ms --loss 1.5%
              contain net impair web:eth1 --rate 10mbit --direction both
              contain net impair lab --loss 5%
              contain net impair web
              contain net impair web --clear
            """)

    @OptionGroup var state: StateOptions
    @Argument(help: "A container, CONTAINER:IFACE, or a network.") var target: String
    @Option(help: ArgumentHelp("Added delay, e.g. 40ms.", valueName: "time")) var delay: String?
    @Option(help: ArgumentHelp("Delay variation, e.g. 5ms (needs --delay).", valueName: "time")) var jitter: String?
    @Option(help: ArgumentHelp("Packets lost, e.g. 1.5%.", valueName: "percent")) var loss: String?
    @Option(help: ArgumentHelp("Bandwidth, e.g. 10mbit.", valueName: "rate")) var rate: String?
    @Option(help: ArgumentHelp("Packets duplicated, e.g. 1%.", valueName: "percent")) var duplicate: String?
    @Option(help: ArgumentHelp("Packets corrupted, e.g. 0.1%.", valueName: "percent")) var corrupt: String?
    @Option(help: ArgumentHelp("Packets sent at once, out of order, e.g. 25% (needs --delay).", valueName: "percent")) var reorder: String?
    @Option(help: ArgumentHelp("netem's queue, in packets.", valueName: "packets")) var limit: String?
    @Option(help: ArgumentHelp("egress (default), ingress or both.", valueName: "direction")) var direction: String?
    @Flag(help: "Remove the impairment (both directions).") var clear = false

    func run() throws {
        try state.prepare()
        let given = [delay, jitter, loss, rate, duplicate, corrupt, reorder, limit].contains { $0 != nil }
        let impairment = given ? try Impairment(delay: delay, jitter: jitter, loss: loss, rate: rate, duplicate: duplicate,
                                                corrupt: corrupt, reorder: reorder, limit: limit) : Impairment()
        let side = try direction.map { text throws(NetworkError) in try ImpairmentDirection(parsing: text) } ?? .egress
        if clear && (!impairment.isEmpty || direction != nil) {
            throw NetworkError.invalid("--clear takes no other option: it removes the impairment in both directions")
        }
        let manager = NetworkManager(store: NetworkStore(directory: state.networkDirectory))
        let targets = try LinkImpairments.targets(target, stateRoot: state.stateRoot, manager: manager)
        if clear {
            try LinkImpairments.clear(targets)
            return
        }
        if impairment.isEmpty {
            guard direction == nil else { throw NetworkError.invalid("--direction needs an impairment to apply") }
            var rows = [["CONTAINER", "INTERFACE", "NETWORK", "EGRESS", "INGRESS"]]
            for (t, egress, ingress) in try LinkImpairments.show(targets) {
                rows.append([t.container, t.containerInterface, t.network, egress?.description ?? "-", ingress?.description ?? "-"])
            }
            print(Table.render(rows), terminator: "")
            return
        }
        try LinkImpairments.apply(impairment, direction: side, to: targets)
    }
}
