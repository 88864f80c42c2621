import ArgumentParser
import ContainLab
import ContainNetwork
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain lab ...`: a multi-container network experiment described once in a YAML file.
struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Bring up, inspect, draw and take down network labs described in YAML files.",
        discussion: """
            A lab file declares nodes (containers), bridged networks, links (veth pairs straight
            between two nodes), addresses, routes, impairments and commands to run once all is up.
            Its containers are contain's own (LAB-NODE), its networks too (LAB-NETWORK).
            See examples/ and README's "Labs" section for the file's keys.
            """,
        subcommands: [LabUp.self, LabDown.self, LabList.self, LabInspect.self, LabGraphCommand.self, LabExec.self])
}

extension StateOptions {
    /// A runner that passes `--root` on to the commands it runs.
    func labRunner(quiet: Bool = false) -> LabRunner {
        let progress = Progress(quiet: quiet)
        return LabRunner(stateRoot: stateRoot, networkDirectory: networkDirectory,
                         globalArguments: root.map { ["--root", $0] } ?? [], progress: { progress.say($0) })
    }
}

struct LabUp: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up", abstract: "Bring a lab up: everything missing is made, in order; what is up is kept.")

    @OptionGroup var state: StateOptions
    @Argument(help: "The lab file (YAML).") var file: String
    @Option(help: ArgumentHelp("The lab's name (default: name: in the file, else the file's name).", valueName: "name")) var name: String?
    @Flag(name: .customLong("no-netem"), help: "Keep only the rates of impairments, for a kernel without netem.") var noNetem = false
    @Flag(name: [.short, .long], help: "Print no progress lines.") var quiet = false

    func run() throws {
        try state.prepare()
        let runner = state.labRunner(quiet: quiet)
        let lab = try runner.up(file: file, LabRunner.UpOptions(name: name, withoutNetem: noNetem))
        print(LabTables.nodes(runner.status(lab)), terminator: "")
    }
}

struct LabDown: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down", abstract: "Take a lab down: everything it made, and nothing else.")

    @OptionGroup var state: StateOptions
    @Argument(help: "The lab's name, or its file.") var lab: String

    func run() throws {
        try state.prepare()
        var name = lab
        if lab.hasSuffix(".yaml") || lab.hasSuffix(".yml") || lab.contains("/") {
            // A file: the lab it names (name: in it, else the file's name).
            name = (try? LabFile.parse(Files.read(lab), file: lab).name) ?? LabFile.defaultName(lab)
        }
        let failures = try state.labRunner().down(name)
        guard failures.isEmpty else {
            throw LabError("lab \(name) is not all gone: \(failures.joined(separator: "; "))")
        }
    }
}

struct LabList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List labs.")

    @OptionGroup var state: StateOptions
    @Flag(help: "One JSON array.") var json = false

    func run() throws {
        try state.prepare()
        let runner = state.labRunner()
        var rows = [["NAME", "STATE", "NODES", "LINKS", "NETWORKS", "FILE"]]
        var objects: [JSON] = []
        for name in LabRunner.names(stateRoot: state.stateRoot) {
            guard let (lab, source) = try? runner.recorded(name) else { continue }
            let nodes = runner.status(lab)
            let up = nodes.filter { $0.state == "running" }.count
            let stateText = up == nodes.count ? "running" : up == 0 ? "down" : "degraded (\(up)/\(nodes.count) running)"
            rows.append([name, stateText, "\(nodes.count)", "\(lab.links.count)", "\(lab.networks.count)", source])
            objects.append(.object([("name", .string(name)), ("state", .string(up == nodes.count ? "running" : up == 0 ? "down" : "degraded")),
                                    ("nodes", .number(Int64(nodes.count))), ("running", .number(Int64(up))),
                                    ("links", .number(Int64(lab.links.count))), ("networks", .number(Int64(lab.networks.count))),
                                    ("file", .string(source))]))
        }
        print(json ? JSON.array(objects).text : Table.render(rows), terminator: json ? "\n" : "")
    }
}

struct LabInspect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show a lab's nodes, interfaces, addresses, links and impairments.")

    @OptionGroup var state: StateOptions
    @Argument(help: "The lab's name.") var name: String
    @Flag(help: "One JSON object.") var json = false

    func run() throws {
        try state.prepare()
        let runner = state.labRunner()
        let (lab, source) = try runner.recorded(name)
        let nodes = runner.status(lab)
        if json {
            print(LabTables.json(lab, source: source, nodes: nodes).text)
            return
        }
        print("lab:       \(lab.name)\nfile:      \(source)\n")
        print(LabTables.nodes(nodes))
        var networks = [["NETWORK", "CONTAIN NETWORK", "SUBNET", "NODES"]]
        for network in lab.networks {
            let members = lab.nodes.filter { $0.networks.contains { $0.network == network.name } }.map(\.name)
            networks.append([network.name, lab.networkName(network.name),
                             network.subnet.map { "\($0)" } ?? "(picked)" + (network.internal ? " internal" : ""), members.joined(separator: ", ")])
        }
        if lab.networks.count > 0 { print(Table.render(networks)) }
        var links = [["LINK", "ADDRESSES", "MTU", "IMPAIRMENT"]]
        for link in lab.links {
            links.append(["\(link.endpoints[0]) <-> \(link.endpoints[1])",
                          link.endpoints.map { $0.address.map { "\($0)/\(link.subnet?.prefix ?? 32)" } ?? "-" }.joined(separator: " <-> "),
                          link.mtu.map(String.init) ?? "default", link.impairment?.description ?? "-"])
        }
        if lab.links.count > 0 { print(Table.render(links), terminator: "") }
    }
}

struct LabGraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph", abstract: "Draw a lab (Graphviz): nodes, networks, links, interfaces, addresses, impairments.")

    @OptionGroup var state: StateOptions
    @Argument(help: "A lab's name; or a lab file, drawn as it would come up.") var name: String
    @Option(name: .shortAndLong, help: ArgumentHelp("FILE.svg, FILE.png or FILE.dot (default: the dot text on stdout).", valueName: "file"))
    var output: String?

    func run() throws {
        try state.prepare()
        let runner = state.labRunner()
        let lab: LabFile
        if LabRunner.names(stateRoot: state.stateRoot).contains(name) || !(name.hasSuffix(".yaml") || name.hasSuffix(".yml") || name.contains("/")) {
            lab = try runner.recorded(name).lab
        } else {
            lab = try LabFile.parse(bytes: try Files.readBytes(name), file: name)
        }
        var addresses: [String: String] = [:]
        for node in runner.status(lab) where node.pid != nil {
            for interface in node.interfaces where !interface.addresses.isEmpty {
                addresses["\(node.node):\(interface.name)"] = interface.addresses.joined(separator: ", ")
            }
        }
        let dot = LabGraph.dot(lab, addresses: addresses)
        guard let output else {
            print(dot, terminator: dot.hasSuffix("\n") ? "" : "\n")
            return
        }
        try LabGraph.render(dot, to: output)
    }
}

struct LabExec: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec", abstract: "Run a command in a lab's node (contain exec by node name).")

    @OptionGroup var state: StateOptions
    @Argument(help: "The lab's name.") var name: String
    @Argument(help: "The node.") var node: String
    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("The command (after --), with exec's own options before it.", valueName: "command"))
    var command: [String] = []

    func run() throws {
        try state.prepare()
        let runner = state.labRunner()
        let (lab, _) = try runner.recorded(name)
        guard lab.node(named: node) != nil else {
            throw LabError("lab \(name) has no node \(node) (nodes: \(lab.nodes.map(\.name).joined(separator: ", ")))")
        }
        try runner.replaceWithExec(container: lab.containerName(node), arguments: command)
    }
}

/// The tables and JSON of the lab commands.
enum LabTables {
    static func nodes(_ nodes: [LabRunner.NodeStatus]) -> String {
        var rows = [["NODE", "CONTAINER", "STATE", "INTERFACES"]]
        for node in nodes {
            let interfaces = node.interfaces.map { interface in
                interface.name + (interface.addresses.isEmpty ? "" : " " + interface.addresses.joined(separator: " "))
                    + (node.impairments[interface.name].map { " (\($0))" } ?? "")
            }
            rows.append([node.node, node.container, node.state, interfaces.isEmpty ? "-" : interfaces.joined(separator: ", ")])
        }
        return Table.render(rows)
    }

    static func json(_ lab: LabFile, source: String, nodes: [LabRunner.NodeStatus]) -> JSON {
        .object([
            ("name", .string(lab.name)), ("file", .string(source)),
            ("nodes", .array(nodes.map { node in
                .object([("name", .string(node.node)), ("container", .string(node.container)), ("state", .string(node.state)),
                         ("pid", node.pid.map { .number(Int64($0)) } ?? .null),
                         ("interfaces", .array(node.interfaces.map { interface in
                             .object([("name", .string(interface.name)), ("addresses", .array(interface.addresses.map(JSON.string))),
                                      ("impairment", node.impairments[interface.name].map { .string($0.description) } ?? .null)])
                         }))])
            })),
            ("networks", .array(lab.networks.map { network in
                .object([("name", .string(network.name)), ("network", .string(lab.networkName(network.name))),
                         ("subnet", network.subnet.map { .string("\($0)") } ?? .null), ("internal", .bool(network.internal))])
            })),
            ("links", .array(lab.links.map { link in
                .object([("endpoints", .array(link.endpoints.map { .string($0.description) })),
                         ("addresses", .array(link.endpoints.map { $0.address.map { .string("\($0)/\(link.subnet?.prefix ?? 32)") } ?? .null })),
                         ("mtu", link.mtu.map { .number(Int64($0)) } ?? .null),
                         ("impairment", link.impairment.map { .string($0.description) } ?? .null)])
            })),
        ])
    }
}
