import ArgumentParser
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain inspect NAME...`: what docker inspect tells of a container, in its field names, as
/// JSON; `--format` picks one field with a Go-template-like path (`{{.State.ExitCode}}`).
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Show everything about containers as JSON (docker's field names).",
        discussion: "Example: contain inspect --format '{{.State.Status}} {{.State.ExitCode}}' web")

    @OptionGroup var state: StateOptions
    @Option(name: [.short, .long], help: ArgumentHelp("Print fields by path, e.g. '{{.State.Pid}} {{.NetworkSettings.IPAddress}}'.", valueName: "template"))
    var format: String?
    @Argument(help: "Container names or ids.") var containers: [String]

    func run() throws {
        try state.prepare()
        let documents = try containers.map { reference -> JSON in
            let view = try ContainerRecord.find(stateRoot: state.stateRoot, reference)
            return Self.document(view, config: try? ContainerRecord.configuration(of: view))
        }
        guard let format else {
            print(JSON.array(documents).text)
            return
        }
        for document in documents { print(try Self.render(format, document)) }
    }

    static func document(_ v: ContainerView, config: ContainerConfig?) -> JSON {
        let s = v.status
        let process = config?.process
        let stateFields: [(String, JSON)] = [
            ("Status", .string(v.state == .dead ? "dead" : v.state == .created ? "created" : v.paused ? "paused" : v.isRunning ? "running" : "exited")),
            ("Running", .bool(v.isRunning)), ("Paused", .bool(v.paused)), ("Pid", .number(v.isAlive ? Int64(s.pid?.pid ?? 0) : 0)),
            ("ExitCode", .number(Int64(s.exitCode ?? 0))), ("OOMKilled", .bool(s.oomKilled)),
            ("Error", .string(s.error ?? "")), ("StartedAt", s.started.map { .number(Int64($0)) } ?? .null),
            ("FinishedAt", s.finished.map { .number(Int64($0)) } ?? .null),
        ]
        let user = process.map { p in p.user.username.map { $0 + (p.user.groupname.map { ":" + $0 } ?? "") }
                                 ?? (p.user.uid == 0 && p.user.gid == 0 ? "" : "\(p.user.uid):\(p.user.gid)") } ?? ""
        let configFields: [(String, JSON)] = [
            ("Hostname", .string(config?.hostname ?? "")), ("User", .string(user)),
            ("Tty", .bool(process?.terminal ?? false)), ("Env", .array(v.info.environment.map(JSON.string))),
            ("Cmd", .array(v.info.command.map(JSON.string))), ("WorkingDir", .string(process?.cwd ?? "/")),
            ("Rootfs", .string(v.info.rootfs)),
            ("Labels", .object((config?.annotations ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, JSON.string($0.value)) })),
            ("StopSignal", .string(Signals.name(v.info.stopSignal))), ("StopTimeout", .number(Int64(v.info.stopTimeout))),
        ]
        let caps = config?.process.capabilities?.effective ?? v.info.capabilities
        let hostFields: [(String, JSON)] = [
            ("NetworkMode", .string(v.info.network)), ("Privileged", .bool(v.info.privileged)),
            ("Capabilities", .array(caps.map(JSON.string))),
            ("SecurityOpt", .array(((v.info.seccomp == "default" ? [] : ["seccomp=" + v.info.seccomp])
                                    + (process?.noNewPrivileges == true ? ["no-new-privileges"] : [])).map(JSON.string))),
            ("ReadonlyRootfs", .bool(config?.root.readonly ?? false)),
            ("CgroupParent", .string(config?.linux.cgroupsPath.map { String($0.split(separator: "/").dropLast().joined(separator: "/")) } ?? "")),
        ]
        let attachment = config?.contain.networkAttachments.first
        let networkFields: [(String, JSON)] = [
            ("IPAddress", .string(s.address ?? "")),
            ("Networks", .object(attachment.map { [($0.network, JSON.object([("IPAddress", .string(s.address ?? ""))]))] } ?? [])),
            ("Ports", .array((attachment?.ports ?? []).map(JSON.string))),
        ]
        let mounts: [JSON] = (config?.mounts ?? []).map { m in
            .object([("Type", .string(m.type ?? "bind")), ("Source", .string(m.source ?? "")), ("Destination", .string(m.destination)),
                     ("RW", .bool(!m.options.contains("ro")))])
        }
        return .object([
            ("Id", .string(v.info.id)), ("Name", .string(v.info.name ?? "")), ("Created", .number(Int64(v.info.created))),
            ("State", .object(stateFields)), ("Config", .object(configFields)), ("HostConfig", .object(hostFields)),
            ("NetworkSettings", .object(networkFields)), ("Mounts", .array(mounts)),
        ])
    }

    /// `{{.A.B}}` replaced by the field at that path (strings as they are, the rest as JSON);
    /// everything else of the template printed as it is. An unknown field is an error.
    static func render(_ template: String, _ document: JSON) throws -> String {
        var out = "", rest = Substring(template)
        while let open = rest.firstRange(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstRange(of: "}}") else {
                throw RunFailure.runtime("--format `\(template)`: `{{` without `}}`")
            }
            let path = rest[open.upperBound..<close.lowerBound].trimmingPrefix(while: { $0 == " " })
            let trimmed = path.hasSuffix(" ") ? String(path.reversed().drop(while: { $0 == " " }).reversed()) : String(path)
            guard trimmed.hasPrefix(".") else { throw RunFailure.runtime("--format `\(template)`: expected a field path such as {{.State.Status}}") }
            var value = document
            for key in trimmed.dropFirst().split(separator: ".") {
                guard case .object(let fields) = value, let next = fields.first(where: { $0.0 == key })?.1 else {
                    throw RunFailure.runtime("--format `\(template)`: no field `\(key)` in `\(trimmed)`")
                }
                value = next
            }
            if case .string(let text) = value { out += text } else { out += value.text }
            rest = rest[close.upperBound...]
        }
        return out + rest
    }
}
