import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// What a container is, written once when its record is made (`<record>/config`).
public struct ContainerInfo: Equatable, Sendable {
    public var id: String
    public var name: String?
    public var command: [String]
    /// Seconds since the epoch.
    public var created: Int
    public var rootfs: String
    public var network: String
    /// Detached without --rm: the record stays after the container ends, until `contain rm`.
    public var keep: Bool
    /// The command's environment; `exec` starts from it.
    public var environment: [String] = []
    /// What the container runs with, for `ps`: its root's capabilities, its seccomp profile
    /// (`default`, `unconfined` or a file), whether it is privileged.
    public var capabilities: [String] = []
    public var seccomp = "default"
    public var privileged = false
    /// `--label KEY=VALUE`, in order.
    public var labels: [String] = []
    /// `--stop-signal`, `--stop-timeout`: what `contain stop` sends first, and how long it waits.
    public var stopSignal: Int32 = SIGTERM
    public var stopTimeout = 10
    /// Created by contain-oci for an engine (conmon, containerd's shim), to which its init
    /// belongs: nobody supervises it, and its record stays after it ends until the engine's
    /// `delete` (runc's model), instead of being reclaimed as abandoned.
    public var ownedByEngine = false

    public init(id: String, name: String?, command: [String], created: Int, rootfs: String, network: String, keep: Bool) {
        self.id = id
        self.name = name
        self.command = command
        self.created = created
        self.rootfs = rootfs
        self.network = network
        self.keep = keep
    }
}

/// Where a container is in its life (`<record>/state`), replaced atomically as it changes.
public struct ContainerStatus: Equatable, Sendable {
    /// The container's PID 1 as the host sees it, with its start time.
    public var pid: ProcessIdentity?
    public var address: String?
    public var exitCode: Int32?
    public var finished: Int?
    /// nil until the init is set up; then created (waiting for start), then running.
    public var phase: Phase?
    /// Why it ended without running its command (a created container that failed to start).
    public var error: String?
    /// When its command started (seconds since the epoch), and whether the OOM killer struck.
    public var started: Int?
    public var oomKilled = false

    public enum Phase: String, Sendable { case created, running }

    public init(pid: ProcessIdentity? = nil, address: String? = nil, exitCode: Int32? = nil, finished: Int? = nil,
                phase: Phase? = nil, error: String? = nil) {
        self.pid = pid
        self.address = address
        self.exitCode = exitCode
        self.finished = finished
        self.phase = phase
        self.error = error
    }
}

/// `key=value` lines; values escaped so that any argument (newlines included) survives.
enum RecordFormat {
    static func escape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func unescape(_ s: Substring) -> String {
        guard s.utf8.contains(UInt8(ascii: "\\")) else { return String(s) }
        var out = ""
        var escaped = false
        for c in s.unicodeScalars {
            if escaped { out.unicodeScalars.append(c == "n" ? "\n" : c); escaped = false }
            else if c == "\\" { escaped = true }
            else { out.unicodeScalars.append(c) }
        }
        return out
    }

    static func pairs(_ text: String) -> [(String, String)] {
        text.splitASCII("\n").compactMap { line in
            guard let eq = line.utf8.firstIndex(of: UInt8(ascii: "=")) else { return nil }
            return (String(line[..<eq]), unescape(line[line.index(after: eq)...]))
        }
    }
}

extension ContainerInfo {
    public var serialized: String {
        var text = "id=\(id)\n"
        if let name { text += "name=\(RecordFormat.escape(name))\n" }
        for arg in command { text += "arg=\(RecordFormat.escape(arg))\n" }
        for entry in environment { text += "env=\(RecordFormat.escape(entry))\n" }
        for cap in capabilities { text += "cap=\(cap)\n" }
        text += "seccomp=\(RecordFormat.escape(seccomp))\nprivileged=\(privileged)\n"
        for label in labels { text += "label=\(RecordFormat.escape(label))\n" }
        text += "stopsignal=\(stopSignal)\nstoptimeout=\(stopTimeout)\n"
        if ownedByEngine { text += "engine=true\n" }
        text += "created=\(created)\nrootfs=\(RecordFormat.escape(rootfs))\nnetwork=\(RecordFormat.escape(network))\nkeep=\(keep)\n"
        return text
    }

    public init?(parsing text: String) {
        var id: String?, name: String?, args: [String] = [], env: [String] = [], created = 0, rootfs = "", network = "none", keep = false
        var caps: [String] = [], seccomp = "default", privileged = false, labels: [String] = []
        var stopSignal = SIGTERM, stopTimeout = 10, ownedByEngine = false
        for (k, v) in RecordFormat.pairs(text) {
            switch k {
            case "id": id = v
            case "name": name = v
            case "arg": args.append(v)
            case "env": env.append(v)
            case "created": created = Int(v) ?? 0
            case "rootfs": rootfs = v
            case "network": network = v
            case "keep": keep = v == "true"
            case "cap": caps.append(v)
            case "seccomp": seccomp = v
            case "privileged": privileged = v == "true"
            case "label": labels.append(v)
            case "stopsignal": stopSignal = Int32(v) ?? SIGTERM
            case "stoptimeout": stopTimeout = Int(v) ?? 10
            case "engine": ownedByEngine = v == "true"
            default: break
            }
        }
        guard let id else { return nil }
        self.init(id: id, name: name, command: args, created: created, rootfs: rootfs, network: network, keep: keep)
        environment = env
        capabilities = caps
        self.seccomp = seccomp
        self.privileged = privileged
        self.labels = labels
        self.ownedByEngine = ownedByEngine
        self.stopSignal = stopSignal
        self.stopTimeout = stopTimeout
    }
}

extension ContainerStatus {
    public var serialized: String {
        var text = ""
        if let pid { text += "pid=\(pid)\n" }
        if let address { text += "address=\(address)\n" }
        if let exitCode { text += "exit=\(exitCode)\n" }
        if let finished { text += "finished=\(finished)\n" }
        if let phase { text += "phase=\(phase.rawValue)\n" }
        if let error { text += "error=\(RecordFormat.escape(error))\n" }
        if let started { text += "started=\(started)\n" }
        if oomKilled { text += "oom=true\n" }
        return text
    }

    public init(parsing text: String) {
        self.init()
        for (k, v) in RecordFormat.pairs(text) {
            switch k {
            case "pid":
                let parts = v.split(separator: "@")
                if parts.count == 2, let p = Int32(parts[0]), let t = UInt64(parts[1]) { pid = ProcessIdentity(pid: p, startTime: t) }
            case "address": address = v
            case "exit": exitCode = Int32(v)
            case "finished": finished = Int(v)
            case "phase": phase = Phase(rawValue: v)
            case "error": error = v
            case "started": started = Int(v)
            case "oom": oomKilled = v == "true"
            default: break
            }
        }
    }
}

/// A container as `ps`, `kill`, `stop`, `rm`, `logs` and `stats` see it.
public struct ContainerView: Sendable {
    public enum State: Equatable, Sendable {
        /// Set up, waiting for `contain start`.
        case created
        case running
        case exited(Int32)
        /// Its runtime died: the next command reclaims it.
        case dead
    }

    public var directory: String
    public var info: ContainerInfo
    public var status: ContainerStatus
    public var state: State
    /// Running, with every process frozen (`contain pause`): its record has a `paused` marker.
    public var paused = false

    public var shortID: String { String(info.id.prefix(12)) }
    public var displayName: String { info.name ?? shortID }
    public var isRunning: Bool { state == .running }
    /// Running or created: its init is alive.
    public var isAlive: Bool { state == .running || state == .created }
    public var outputFile: String { directory + "/output" }
    /// The state root the record lives under (`<root>/containers/<id>`).
    public var stateRoot: String {
        directory.split(separator: "/", omittingEmptySubsequences: false).dropLast(2).joined(separator: "/")
    }

    public var stateDescription: String {
        switch state {
        case .created: return "created"
        case .running: return paused ? "paused" : "running"
        case .exited(let code): return "exited \(code)"
        case .dead: return "dead"
        }
    }
}
