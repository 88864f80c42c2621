import ArgumentParser
import ContainNetwork
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

struct PsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List containers.", aliases: ["list"])

    @OptionGroup var state: StateOptions
    @Flag(name: [.short, .customLong("all")], help: "Also show containers that have exited.") var all = false
    @Flag(help: "Print contain's JSON array (see --format json for docker's lines).") var json = false
    @Option(help: ArgumentHelp("table, json (one object per line), or a template such as 'table {{.Names}}\t{{.Status}}' (fields: ID, Names, Status, State, CreatedAt, RunningFor, Command, Networks, Ports, Labels, Pid, Address).", valueName: "format"))
    var format: String?
    @Flag(name: .short, help: "Print only the ids.") var q = false
    @Flag(name: .customLong("no-trunc"), help: "Print whole ids and commands.") var noTrunc = false
    @Option(name: [.short, .customLong("filter")],
            help: ArgumentHelp("Only containers that match: name=NAME, status=created|running|paused|exited|dead, label=KEY[=VALUE], network=NAME (repeatable: all must match).", valueName: "filter"))
    var filter: [String] = []

    func run() throws {
        try state.prepare()
        let now = time(nil)
        let filters = try filter.map(Self.parseFilter)
        // A filter on status looks at ended containers too, as docker's does.
        let showEnded = all || filters.contains { $0.key == "status" }
        let views = ContainerRecord.list(stateRoot: state.stateRoot).filter { v in
            (showEnded || v.isAlive) && filters.allSatisfy { Self.matches(v, $0) }
        }
        if q {
            for v in views { print(noTrunc ? v.info.id : v.shortID) }
            return
        }
        if json {
            print(JSON.array(views.map { v in
                JSON.object([("id", .string(v.info.id)), ("name", v.info.name.map(JSON.string) ?? .null),
                             ("pid", v.isAlive ? v.status.pid.map { .number(Int64($0.pid)) } ?? .null : .null),
                             ("status", .string(v.stateDescription)),
                             ("exit_code", v.status.exitCode.map { .number(Int64($0)) } ?? .null),
                             ("created", .number(Int64(v.info.created))),
                             ("command", .array(v.info.command.map(JSON.string))),
                             ("network", .string(Self.networks(v))),
                             ("address", v.isAlive ? v.status.address.map(JSON.string) ?? .null : .null),
                             ("capabilities", .array(v.info.capabilities.map(JSON.string))), ("seccomp", .string(v.info.seccomp)),
                             ("privileged", .bool(v.info.privileged)), ("labels", .array(v.info.labels.map(JSON.string)))])
            }).text)
            return
        }
        let rowFormat = RowFormat(format)
        if let text = try rowFormat.render(views.map { Self.row($0, now: now, fullID: noTrunc) }, headers: Self.headers) {
            print(text, terminator: "")
            return
        }
        var rows = [["ID", "NAME", "PID", "STATUS", "CREATED", "COMMAND", "NETWORK", "ADDRESS", "PORTS"]]
        for v in views {
            let command = v.info.command.joined(separator: " ")
            // An ended container has no process and no address (its lease is gone).
            rows.append([noTrunc ? v.info.id : v.shortID, v.info.name ?? "-", v.isAlive ? v.status.pid.map { String($0.pid) } ?? "-" : "-",
                         v.stateDescription, Self.ago(now - v.info.created),
                         command.count > 30 && !noTrunc ? String(command.prefix(29)) + "…" : command,
                         Self.networks(v), v.isAlive ? v.status.address ?? "-" : "-", v.isAlive ? Self.ports(v) : ""])
        }
        print(Table.render(rows), terminator: "")
    }

    static let headers = [
        "ID": "CONTAINER ID", "Names": "NAMES", "Status": "STATUS", "State": "STATE", "CreatedAt": "CREATED AT",
        "RunningFor": "CREATED", "Command": "COMMAND", "Networks": "NETWORKS", "Ports": "PORTS", "Labels": "LABELS",
        "Pid": "PID", "Address": "ADDRESS",
    ]

    /// docker's fields for `--format`.
    static func row(_ v: ContainerView, now: Int, fullID: Bool) -> JSON {
        let state = v.stateDescription.split(separator: " ").first.map(String.init) ?? ""
        return .object([
            ("ID", .string(fullID ? v.info.id : v.shortID)), ("Names", .string(v.info.name ?? "")),
            ("Status", .string(v.stateDescription)), ("State", .string(state)),
            ("CreatedAt", .number(Int64(v.info.created))), ("RunningFor", .string(ago(now - v.info.created))),
            ("Command", .string(v.info.command.joined(separator: " "))), ("Networks", .string(Self.networks(v))),
            ("Ports", .string(v.isAlive ? ports(v) : "")), ("Labels", .string(v.info.labels.joined(separator: ","))),
            ("Pid", .string(v.isAlive ? v.status.pid.map { String($0.pid) } ?? "" : "")),
            ("Address", .string(v.isAlive ? v.status.address ?? "" : "")),
        ])
    }

    /// Every network of a bridged container (`--net a --net b`, as its configuration lists
    /// them; `bridge` for the default one), comma-separated; the mode of any other.
    static func networks(_ v: ContainerView) -> String {
        guard case .bridge(let first)? = try? NetworkMode(parsing: v.info.network),
              let config = try? ContainerRecord.configuration(of: v), config.contain.networkAttachments.count > 1 else { return v.info.network }
        return config.contain.networkAttachments.map { $0.network == first ? v.info.network : $0.network }.joined(separator: ",")
    }

    /// `0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp`, from the container's configuration.
    static func ports(_ v: ContainerView) -> String {
        guard case .bridge? = try? NetworkMode(parsing: v.info.network),
              let config = try? ContainerRecord.configuration(of: v) else { return "" }
        return config.contain.networkAttachments.flatMap(\.ports).compactMap { text in
            (try? PortMapping(parsing: text)).map { port in
                "\(port.hostSide)->\(port.containerPort)/\(port.transport.rawValue)"
            }
        }.joined(separator: ", ")
    }

    static func parseFilter(_ text: String) throws -> (key: String, value: String) {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, ["name", "status", "label", "network", "id"].contains(parts[0]) else {
            throw RunFailure.runtime("invalid --filter `\(text)`: expected name=, status=, label=, network= or id=")
        }
        return (parts[0], parts[1])
    }

    /// name: a part of the name, as docker matches it; label: the key, or key=value.
    static func matches(_ v: ContainerView, _ filter: (key: String, value: String)) -> Bool {
        switch filter.key {
        case "name": return v.info.name?.contains(filter.value) == true
        case "id": return v.info.id.hasPrefix(filter.value)
        case "status": return v.stateDescription.split(separator: " ").first.map(String.init) == filter.value
        case "network": return Self.networks(v).split(separator: ",").contains { $0 == filter.value }
        default: return v.info.labels.contains { $0 == filter.value || $0.hasPrefix(filter.value + "=") }
        }
    }

    static func ago(_ seconds: Int) -> String {
        if seconds < 60 { return "\(seconds) seconds ago" }
        if seconds < 3600 { return "\(seconds / 60) minutes ago" }
        if seconds < 86400 { return "\(seconds / 3600) hours ago" }
        return "\(seconds / 86400) days ago"
    }
}
