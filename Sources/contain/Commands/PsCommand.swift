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
    @Flag(help: "Print JSON.") var json = false
    @Flag(name: .short, help: "Print only the ids.") var q = false
    @Flag(name: .customLong("no-trunc"), help: "Print whole ids and commands.") var noTrunc = false
    @Option(name: [.short, .customLong("filter")],
            help: ArgumentHelp("Only containers that match: name=NAME, status=created|running|exited|dead, label=KEY[=VALUE], network=NAME (repeatable: all must match).", valueName: "filter"))
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
                             ("pid", v.status.pid.map { .number(Int64($0.pid)) } ?? .null),
                             ("status", .string(v.stateDescription)),
                             ("exit_code", v.status.exitCode.map { .number(Int64($0)) } ?? .null),
                             ("created", .number(Int64(v.info.created))),
                             ("command", .array(v.info.command.map(JSON.string))),
                             ("network", .string(v.info.network)), ("address", v.status.address.map(JSON.string) ?? .null),
                             ("capabilities", .array(v.info.capabilities.map(JSON.string))), ("seccomp", .string(v.info.seccomp)),
                             ("privileged", .bool(v.info.privileged)), ("labels", .array(v.info.labels.map(JSON.string)))])
            }).text)
            return
        }
        var rows = [["ID", "NAME", "PID", "STATUS", "CREATED", "COMMAND", "NETWORK", "ADDRESS"]]
        for v in views {
            let command = v.info.command.joined(separator: " ")
            rows.append([noTrunc ? v.info.id : v.shortID, v.info.name ?? "-", v.isAlive ? v.status.pid.map { String($0.pid) } ?? "-" : "-",
                         v.stateDescription, Self.ago(now - v.info.created),
                         command.count > 30 && !noTrunc ? String(command.prefix(29)) + "…" : command,
                         v.info.network, v.isAlive ? v.status.address ?? "-" : "-"])
        }
        print(Table.render(rows), terminator: "")
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
        case "network": return v.info.network == filter.value
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
