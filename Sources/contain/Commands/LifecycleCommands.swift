import ArgumentParser
import ContainNetwork
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// Waits until the container's runtime has let go of it (it has ended and been cleaned up).
private func waitUntilEnded(_ view: ContainerView, timeout: Double) -> Bool {
    let deadline = monotonicSeconds() + timeout
    while monotonicSeconds() < deadline {
        if ContainerRecord.find(directory: view.directory)?.isRunning != true { return true }
        usleep(20_000)
    }
    return false
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Signals the container's PID 1, making sure the pid is still that process.
private func signalContainer(_ view: ContainerView, _ signal: Int32) throws {
    guard view.isRunning, let pid = view.status.pid else {
        throw RunFailure.runtime("container \(view.displayName) is not running")
    }
    guard pid.isAlive else { throw RunFailure.runtime("container \(view.displayName) is not running") }
    try sys("kill", path: view.displayName) { kill(pid.pid, signal) }
}

struct PsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List containers.")

    @OptionGroup var state: StateOptions
    @Flag(name: [.short, .customLong("all")], help: "Also show containers that have exited.") var all = false
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try state.prepare()
        let now = time(nil)
        let views = ContainerRecord.list(stateRoot: state.stateRoot).filter { all || $0.isRunning }
        if json {
            print(JSON.array(views.map { v in
                JSON.object([("id", .string(v.info.id)), ("name", v.info.name.map(JSON.string) ?? .null),
                             ("pid", v.status.pid.map { .number(Int64($0.pid)) } ?? .null),
                             ("status", .string(v.stateDescription)),
                             ("exit_code", v.status.exitCode.map { .number(Int64($0)) } ?? .null),
                             ("created", .number(Int64(v.info.created))),
                             ("command", .array(v.info.command.map(JSON.string))),
                             ("network", .string(v.info.network)), ("address", v.status.address.map(JSON.string) ?? .null)])
            }).text)
            return
        }
        var rows = [["ID", "NAME", "PID", "STATUS", "CREATED", "COMMAND", "NETWORK", "ADDRESS"]]
        for v in views {
            let command = v.info.command.joined(separator: " ")
            rows.append([v.shortID, v.info.name ?? "-", v.isRunning ? v.status.pid.map { String($0.pid) } ?? "-" : "-",
                         v.stateDescription, Self.ago(now - v.info.created),
                         command.count > 30 ? String(command.prefix(29)) + "…" : command,
                         v.info.network, v.status.address ?? "-"])
        }
        print(Table.render(rows), terminator: "")
    }

    static func ago(_ seconds: Int) -> String {
        if seconds < 60 { return "\(seconds) seconds ago" }
        if seconds < 3600 { return "\(seconds / 60) minutes ago" }
        if seconds < 86400 { return "\(seconds / 3600) hours ago" }
        return "\(seconds / 86400) days ago"
    }
}

struct KillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kill", abstract: "Send a signal to a container (default SIGKILL).")

    @OptionGroup var state: StateOptions
    @Option(name: [.short, .customLong("signal")], help: ArgumentHelp("Signal name or number.", valueName: "signal"))
    var signal = "KILL"
    @Argument(help: "Container names or ids.") var containers: [String]

    func run() throws {
        try state.prepare()
        guard let number = Signals.parse(signal) else { throw RunFailure.runtime("unknown signal `\(signal)`") }
        for reference in containers {
            try signalContainer(try ContainerRecord.find(stateRoot: state.stateRoot, reference), number)
            print(reference)
        }
    }
}

struct StopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop containers: SIGTERM, then SIGKILL after a timeout.")

    @OptionGroup var state: StateOptions
    @Option(name: [.short, .customLong("time")], help: ArgumentHelp("Seconds to wait before SIGKILL.", valueName: "seconds"))
    var time = 10
    @Argument(help: "Container names or ids.") var containers: [String]

    func run() throws {
        try state.prepare()
        guard time >= 0 else { throw RunFailure.runtime("invalid -t \(time): must be 0 or more") }
        for reference in containers {
            let view = try ContainerRecord.find(stateRoot: state.stateRoot, reference)
            if view.isRunning {
                try? signalContainer(view, SIGTERM)
                if !waitUntilEnded(view, timeout: Double(time)) {
                    try? signalContainer(view, SIGKILL)
                    _ = waitUntilEnded(view, timeout: 10)
                }
            }
            print(reference)
        }
    }
}

struct RmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove containers that have ended (-f: stop them first).")

    @OptionGroup var state: StateOptions
    @Flag(name: [.short, .customLong("force")], help: "Kill a running container first.") var force = false
    @Argument(help: "Container names or ids.") var containers: [String]

    func run() throws {
        try state.prepare()
        // All are checked before any is removed: a refusal changes nothing.
        let views = try containers.map { try ContainerRecord.find(stateRoot: state.stateRoot, $0) }
        if !force, let running = views.first(where: \.isRunning) {
            throw RunFailure.runtime("container \(running.displayName) is running: stop it first, or use rm -f")
        }
        for (reference, view) in zip(containers, views) {
            if view.isRunning {
                try? signalContainer(view, SIGKILL)
                guard waitUntilEnded(view, timeout: 20) else {
                    throw RunFailure.runtime("container \(view.displayName) did not end after SIGKILL")
                }
            }
            if let ended = ContainerRecord.find(directory: view.directory) {
                try ContainerRecord.removeEnded(ended, stateRoot: state.stateRoot)
            }
            print(reference)
        }
    }
}

struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a detached container's output.")

    @OptionGroup var state: StateOptions
    @Flag(name: [.short, .customLong("follow")], help: "Keep printing new output until the container ends.") var follow = false
    @Argument(help: "Container name or id.") var container: String

    func run() throws {
        try state.prepare()
        let view = try ContainerRecord.find(stateRoot: state.stateRoot, container)
        let fd = open(view.outputFile, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw RunFailure.runtime("container \(view.displayName) has no logs: only detached containers (run -d) keep their output")
        }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                _ = buffer.withUnsafeBytes { write(1, $0.baseAddress, n) }
                continue
            }
            guard follow, ContainerRecord.find(directory: view.directory)?.isRunning == true else {
                // One last read: output written just before the end.
                let rest = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if rest > 0 { _ = buffer.withUnsafeBytes { write(1, $0.baseAddress, rest) } }
                return
            }
            usleep(100_000)
        }
    }
}

struct ExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec", abstract: "Run a command inside a running container.",
        discussion: "Example: contain exec web -- ps")

    @OptionGroup var state: StateOptions
    @Option(name: [.customShort("e"), .customLong("env")], help: ArgumentHelp("Set an environment variable (repeatable).", valueName: "key=value"))
    var env: [String] = []
    @Option(name: [.customShort("w"), .customLong("workdir")], help: ArgumentHelp("Working directory inside the container.", valueName: "dir"))
    var workdir: String?
    @Option(name: [.customShort("u"), .customLong("user")], help: ArgumentHelp("Run as UID[:GID] or NAME[:GROUP].", valueName: "user"))
    var user: String?
    @Argument(help: "Container name or id.") var container: String
    @Argument(parsing: .remaining, help: ArgumentHelp("The command to run, after --.", valueName: "command"))
    var command: [String] = []

    func run() throws {
        try state.prepare()
        let argv = command.first == "--" ? Array(command.dropFirst()) : command
        guard !argv.isEmpty else { throw RunFailure.runtime("no command given: contain exec NAME -- CMD [ARGS...]") }
        let environment = try env.map { entry throws(SpecError) in try EnvironmentEntries.validate(entry) }
        if let workdir, !workdir.hasPrefix("/") { throw SpecError("invalid -w `\(workdir)`: must be an absolute path") }
        let view = try ContainerRecord.find(stateRoot: state.stateRoot, container)
        let request = ContainerExec.Request(command: argv, environment: environment, workdir: workdir,
                                            user: try user.map { text throws(SpecError) in try UserSpec(parsing: text) })
        // Like docker exec, no progress lines: the command's own output is all there is.
        throw ExitCode(try ContainerExec.run(view, request, progress: Progress(quiet: true)))
    }
}

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
        for v in try views() { previous[v.info.id] = ContainerStatsSample.read(v) }
        while true {
            usleep(1_000_000)
            let current = try views()
            let links = Dictionary(((try? Rtnetlink(transport: MnlSocket()).links()) ?? []).map { ($0.name, $0) },
                                   uniquingKeysWith: { a, _ in a })
            var rows = [["ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "PIDS", "NET RX / TX"]]
            for v in current where v.isRunning {
                let sample = ContainerStatsSample.read(v)
                let cpu = previous[v.info.id].flatMap { ContainerStatsSample.cpuPercent(from: $0, to: sample) }
                previous[v.info.id] = sample
                let memory = sample.memoryBytes.map { ByteSize(bytes: $0).formatted(exact: false) } ?? "-"
                let limit = sample.memoryLimit.map { ByteSize(bytes: $0).formatted(exact: false) } ?? "no limit"
                // The host end's counters: what it sent, the container received.
                let stats = links["veth" + String(v.info.id.prefix(8))]?.stats
                var net = "-"
                if let stats {
                    net = ByteSize(bytes: stats.txBytes).formatted(exact: false) + " / " + ByteSize(bytes: stats.rxBytes).formatted(exact: false)
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

struct GcCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gc", abstract: "Reclaim everything left by containers whose runtime died.")

    @OptionGroup var state: StateOptions

    func run() throws {
        guard geteuid() == 0 else { throw RunFailure.runtime("contain needs root privileges") }
        let reclaimed = ContainerRecord.reclaimAbandoned(stateRoot: state.stateRoot) { Progress(quiet: false).say($0) }
        // Reading the networks reclaims leases (and port rules, hosts entries) of dead owners.
        _ = try NetworkManager(store: NetworkStore(directory: state.networkDirectory)).status()
        for id in reclaimed { print(id.prefix(12)) }
    }
}
