import ArgumentParser
import ContainOCI
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain-oci`: runc's command line over contain's engine, for the engines that drive an OCI
/// runtime (podman, containerd's runc shim, CRI-O). One engine, two front ends: `contain` is
/// docker's command line.
struct ContainOCICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contain-oci",
        abstract: "An OCI runtime (runc's command line) over contain's engine.",
        version: "contain-oci 0.1 (runtime-spec 1.2)",
        subcommands: [Create.self, Start.self, State.self, Kill.self, Delete.self, Run.self, Exec.self, Pause.self, Resume.self, Ps.self, Update.self, List.self,
                      Spec.self, Features.self])
}

/// The global options runc takes before the command.
struct Global: ParsableArguments {
    @Option(help: ArgumentHelp("Where containers' state is kept (default /run/contain-oci).", valueName: "dir")) var root: String?
    @Option(help: ArgumentHelp("Also write errors to this file.", valueName: "file")) var log: String?
    @Option(name: .customLong("log-format"), help: ArgumentHelp("text or json.", valueName: "format")) var logFormat = "text"
    @Flag(help: "More detail (accepted; contain-oci has none to add yet).") var debug = false
    @Flag(name: .customLong("systemd-cgroup"), help: "Refused: this runtime manages cgroups itself.") var systemdCgroup = false
    @Option(name: .customLong("cgroup-manager"), help: ArgumentHelp("cgroupfs (the only one).", valueName: "manager")) var cgroupManager: String?

    var runtime: OCIRuntime { OCIRuntime(root: root) }

    func check() throws {
        guard geteuid() == 0 else { throw OCIError("contain-oci needs root privileges") }
        guard logFormat == "text" || logFormat == "json" else { throw OCIError("--log-format \(logFormat): text or json") }
        if systemdCgroup || (cgroupManager != nil && cgroupManager != "cgroupfs") {
            throw OCIError("the systemd cgroup manager is not supported: this machine has no systemd; use --cgroup-manager cgroupfs")
        }
    }
}

/// Runs `body`; an error is one line on stderr (and in --log, as JSON with --log-format json,
/// where podman and containerd read why), and exit status 1.
func reporting(_ global: Global, _ body: () throws -> Void) throws {
    do {
        try global.check()
        // What containers that ended with nobody to clean up left (cgroups, records), as every
        // contain command does first.
        let runtime = global.runtime
        Container.reclaimAbandoned(stateRoot: runtime.stateRoot, networkDirectory: runtime.context.networkDirectory)
        try body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        let message = (error as? OCIError)?.message ?? (error as? RunFailure)?.description ?? "\(error)"
        Progress.emit("contain-oci: \(message)\n")
        if let log = global.log {
            let line = global.logFormat == "json"
                ? JSONValue.ordered([("level", .string("error")), ("msg", .string(message)),
                                     ("time", .string(OCIRuntime.timestamp(Int(time(nil)))))]).text
                : "level=error msg=\(JSONValue.string(message).text)"
            let fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            if fd >= 0 {
                var text = line + "\n"
                _ = text.withUTF8 { write(fd, $0.baseAddress, $0.count) }
                close(fd)
            }
        }
        throw ExitCode(1)
    }
}

struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a container from a bundle; its process waits for start.")
    @OptionGroup var global: Global
    @Option(name: [.short, .long], help: ArgumentHelp("The bundle (default: the current directory).", valueName: "dir")) var bundle = "."
    @Option(name: .customLong("pid-file"), help: ArgumentHelp("Write the container's pid here.", valueName: "file")) var pidFile: String?
    @Option(name: .customLong("console-socket"), help: ArgumentHelp("With process.terminal: the unix socket the terminal's master is sent to.", valueName: "socket")) var consoleSocket: String?
    @Flag(name: .customLong("no-pivot")) var noPivot = false
    @Flag(name: .customLong("no-new-keyring")) var noNewKeyring = false
    @Option(name: .customLong("preserve-fds")) var preserveFDs: Int = 0
    @Argument var id: String

    func run() throws {
        try reporting(global) {
            if preserveFDs != 0 { throw OCIError("--preserve-fds: not supported yet") }
            if noPivot { throw OCIError("--no-pivot: contain always pivots into the root") }
            try global.runtime.create(id: id, bundle: Files.absolute(bundle), pidFile: pidFile.map(Files.absolute),
                                      consoleSocket: consoleSocket.map(Files.absolute))
        }
    }
}

struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start a created container's process.")
    @OptionGroup var global: Global
    @Argument var id: String
    func run() throws { try reporting(global) { try global.runtime.start(id: id) } }
}

struct State: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a container's state (runtime-spec JSON).")
    @OptionGroup var global: Global
    @Argument var id: String
    func run() throws { try reporting(global) { print(try global.runtime.state(id).text) } }
}

struct Kill: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send a signal (default SIGTERM) to a container's process.")
    @OptionGroup var global: Global
    @Flag(name: [.short, .long], help: "Every process of the container.") var all = false
    @Argument var id: String
    @Argument var signal: String = "TERM"
    func run() throws {
        try reporting(global) {
            guard let number = Signals.parse(signal) else { throw OCIError("unknown signal `\(signal)`") }
            try global.runtime.kill(id, signal: number, all: all)
        }
    }
}

struct Exec: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a process in a running container: --process FILE.json, or the command with --cwd, --env, --user.")
    @OptionGroup var global: Global
    @Option(name: [.short, .long], help: ArgumentHelp("The process, as config.json's `process`.", valueName: "file")) var process: String?
    @Option(help: ArgumentHelp("Working directory (absolute).", valueName: "dir")) var cwd: String?
    @Option(name: [.short, .long], help: ArgumentHelp("KEY=VALUE (repeatable).", valueName: "env")) var env: [String] = []
    @Option(name: [.short, .long], help: ArgumentHelp("UID[:GID].", valueName: "user")) var user: String?
    @Option(name: .customLong("cap"), help: ArgumentHelp("A capability added to the process's (repeatable).", valueName: "cap")) var cap: [String] = []
    @Flag(name: [.short, .long], help: "A terminal for the process (with --detach, its master goes to --console-socket).") var tty = false
    @Flag(name: [.short, .long], help: "Return once the process runs; the caller reaps it.") var detach = false
    @Option(name: .customLong("pid-file"), help: ArgumentHelp("Where the process's pid is written.", valueName: "file")) var pidFile: String?
    @Option(name: .customLong("console-socket"), help: ArgumentHelp("Where the terminal's master is sent.", valueName: "socket")) var consoleSocket: String?
    @Option(name: .customLong("preserve-fds")) var preserveFDs: Int = 0
    @Argument var id: String
    @Argument(parsing: .captureForPassthrough) var command: [String] = []
    func run() throws {
        var status: Int32 = 0
        try reporting(global) {
            if preserveFDs != 0 { throw OCIError("--preserve-fds: not supported yet") }
            var options = OCIRuntime.ExecOptions()
            options.tty = tty
            options.detach = detach
            options.pidFile = pidFile
            options.consoleSocket = consoleSocket
            options.capabilities = cap
            var spec: ContainerConfig.Process
            let argv = command.first == "--" ? Array(command.dropFirst()) : command
            if let process {
                guard argv.isEmpty && cwd == nil && env.isEmpty && user == nil else {
                    throw OCIError("exec --process takes the whole process from the file: no command or --cwd, --env, --user")
                }
                let bytes: [UInt8]
                do { bytes = try Files.readBytes(process) } catch { throw OCIError("cannot read \(process): \(error)") }
                spec = try OCIConfig.readProcess(bytes: bytes)
            } else {
                guard !argv.isEmpty else { throw OCIError("exec: give the command, or --process FILE.json") }
                spec = ContainerConfig.Process(args: argv, env: env, cwd: cwd ?? "/")
                guard spec.cwd.hasPrefix("/") else { throw OCIError("--cwd \(spec.cwd): must be absolute") }
                if let user {
                    let parts = user.split(separator: ":", omittingEmptySubsequences: false)
                    guard (1...2).contains(parts.count), let uid = UInt32(parts[0]), parts.count == 1 || UInt32(parts[1]) != nil else {
                        throw OCIError("--user \(user): UID[:GID], numbers")
                    }
                    spec.user.uid = uid
                    spec.user.gid = parts.count == 2 ? UInt32(parts[1])! : 0
                }
            }
            status = try global.runtime.exec(id, process: spec, whole: process != nil, options: options)
        }
        throw ExitCode(status)
    }
}

struct Pause: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Freeze every process of a running container.")
    @OptionGroup var global: Global
    @Argument var id: String
    func run() throws { try reporting(global) { try global.runtime.pause(id) } }
}

struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Thaw a paused container.")
    @OptionGroup var global: Global
    @Argument var id: String
    func run() throws { try reporting(global) { try global.runtime.resume(id) } }
}

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a stopped container (--force: a running one too).")
    @OptionGroup var global: Global
    @Flag(name: [.short, .long]) var force = false
    @Argument var id: String
    func run() throws { try reporting(global) { try global.runtime.delete(id, force: force) } }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create and start a container; without -d, wait for it and exit with its status.")
    @OptionGroup var global: Global
    @Option(name: [.short, .long], help: ArgumentHelp("The bundle (default: the current directory).", valueName: "dir")) var bundle = "."
    @Option(name: .customLong("pid-file"), help: ArgumentHelp("Write the container's pid here.", valueName: "file")) var pidFile: String?
    @Option(name: .customLong("console-socket"), help: ArgumentHelp("With process.terminal: the unix socket the terminal's master is sent to.", valueName: "socket")) var consoleSocket: String?
    @Flag(name: [.short, .long], help: "Return once it runs.") var detach = false
    @Argument var id: String
    func run() throws {
        var status: Int32 = 0
        try reporting(global) {
            status = try global.runtime.run(id: id, bundle: Files.absolute(bundle), pidFile: pidFile.map(Files.absolute),
                                            consoleSocket: consoleSocket.map(Files.absolute), detach: detach)
        }
        if status != 0 { throw ExitCode(status) }
    }
}

/// runc's `ps`: the container's processes (host pids), as JSON (containerd's shim asks so) or
/// a table of pid and command.
struct Ps: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The processes of a container.")
    @OptionGroup var global: Global
    @Option(name: [.short, .long], help: ArgumentHelp("table or json.", valueName: "format")) var format = "table"
    @Argument var id: String
    @Argument(parsing: .captureForPassthrough) var psOptions: [String] = []
    func run() throws {
        try reporting(global) {
            guard format == "table" || format == "json" else { throw OCIError("--format \(format): table or json") }
            if !psOptions.isEmpty { throw OCIError("ps options (\(psOptions.joined(separator: " "))): contain-oci does not run ps(1)") }
            let processes = try global.runtime.processes(id)
            if format == "json" {
                print(JSONValue.array(processes.map { .number(Double($0.pid), text: String($0.pid)) }).text)
                return
            }
            print("PID     CMD")
            for process in processes {
                let pid = String(process.pid)
                print(pid + String(repeating: " ", count: max(1, 8 - pid.count)) + process.command)
            }
        }
    }
}

/// runc's `update`: `--resources FILE` (`-`: stdin, as containerd's shim sends it), a
/// `linux.resources` object, or the flags for its fields; what is not given stays.
struct Update: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Change a running container's resource limits.")
    @OptionGroup var global: Global
    @Option(name: [.short, .long], help: ArgumentHelp("linux.resources as JSON (- for stdin).", valueName: "file")) var resources: String?
    // .unconditional: -1 is a value here, not an option.
    @Option(parsing: .unconditional, help: "Memory limit (bytes, or 64m; -1: none).") var memory: String?
    @Option(name: .customLong("memory-swap"), parsing: .unconditional, help: "Memory plus swap (-1: unlimited).") var memorySwap: String?
    @Option(name: .customLong("memory-reservation"), help: "Soft memory limit.") var memoryReservation: String?
    @Option(name: .customLong("cpu-quota"), parsing: .unconditional, help: "CPU time per period (microseconds; -1: none).") var cpuQuota: Int64?
    @Option(name: .customLong("cpu-period"), help: "CPU period (microseconds).") var cpuPeriod: UInt64?
    @Option(name: .customLong("cpu-share"), help: "CPU shares.") var cpuShare: UInt64?
    @Option(name: .customLong("cpuset-cpus"), help: "CPUs (0-3, 0,1).") var cpusetCPUs: String?
    @Option(name: .customLong("cpuset-mems"), help: "Memory nodes.") var cpusetMems: String?
    @Option(name: .customLong("pids-limit"), parsing: .unconditional, help: "Most processes (-1: none).") var pidsLimit: Int64?
    @Argument var id: String
    func run() throws {
        try reporting(global) {
            var change = ContainerConfig.Linux.Resources()
            if let resources {
                let bytes: [UInt8]
                if resources == "-" {
                    bytes = readAllStandardInput()
                } else {
                    do { bytes = try Files.readBytes(resources) } catch { throw OCIError("cannot read \(resources): \(error)") }
                }
                change = try OCIConfig.readResources(bytes: bytes)
            }
            func size(_ text: String?, _ flag: String) throws -> Int64? {
                guard let text else { return nil }
                if text == "-1" { return -1 }
                do { return Int64(try ByteSize(parsing: text).bytes) } catch { throw OCIError("--\(flag) \(text): bytes, or a size such as 64m") }
            }
            if memory != nil || memorySwap != nil || memoryReservation != nil {
                var m = change.memory ?? .init()
                m.limit = try size(memory, "memory") ?? m.limit
                m.swap = try size(memorySwap, "memory-swap") ?? m.swap
                m.reservation = try size(memoryReservation, "memory-reservation") ?? m.reservation
                change.memory = m
            }
            if cpuQuota != nil || cpuPeriod != nil || cpuShare != nil || cpusetCPUs != nil || cpusetMems != nil {
                var c = change.cpu ?? .init()
                c.quota = cpuQuota ?? c.quota
                c.period = cpuPeriod ?? c.period
                c.shares = cpuShare ?? c.shares
                c.cpus = cpusetCPUs ?? c.cpus
                c.mems = cpusetMems ?? c.mems
                change.cpu = c
            }
            if let pidsLimit { change.pids = ContainerConfig.Linux.Resources.Pids(limit: pidsLimit) }
            try global.runtime.update(id, resources: change)
        }
    }
}

/// Everything on stdin (`update --resources -`).
func readAllStandardInput() -> [UInt8] {
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return bytes }
        bytes += buffer[0..<n]
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List containers.")
    @OptionGroup var global: Global
    @Option(name: [.short, .long], help: ArgumentHelp("table or json.", valueName: "format")) var format = "table"
    @Flag(name: [.short, .long], help: "Ids only.") var quiet = false
    func run() throws {
        try reporting(global) {
            let rows = global.runtime.list()
            if quiet { rows.forEach { print($0.id) }; return }
            if format == "json" {
                print(JSONValue.array(rows.map { row in
                    .object(["id": .string(row.id), "pid": .number(Double(row.pid), text: String(row.pid)),
                             "status": .string(row.status), "bundle": .string(row.bundle), "created": .string(row.created)])
                }).text)
                return
            }
            guard format == "table" else { throw OCIError("--format \(format): table or json") }
            var lines = [["ID", "PID", "STATUS", "BUNDLE", "CREATED"]] + rows.map { [$0.id, "\($0.pid)", $0.status, $0.bundle, $0.created] }
            let widths = (0..<5).map { column in lines.map { $0[column].count }.max() ?? 0 }
            for index in lines.indices {
                lines[index] = lines[index].enumerated().map { $0.offset == 4 ? $0.element : $0.element + String(repeating: " ", count: widths[$0.offset] - $0.element.count + 3) }
            }
            print(lines.map { $0.joined() }.joined(separator: "\n"))
        }
    }
}

struct Spec: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a starting config.json into the bundle.")
    @OptionGroup var global: Global
    @Option(name: [.short, .long], help: ArgumentHelp("The bundle (default: the current directory).", valueName: "dir")) var bundle = "."
    func run() throws {
        try reporting(global) {
            let path = Files.absolute(bundle) + "/config.json"
            if Files.exists(path) { throw OCIError("\(path) exists") }
            try Files.write(path, OCISpecTemplate.text, create: true, mode: 0o644)
        }
    }
}

struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print what this runtime supports (runc's features JSON).")
    @OptionGroup var global: Global
    func run() throws { try reporting(global) { print(OCISpecTemplate.features) } }
}

// The engine re-executes this binary for the container's init, exec's helper and the name
// server: those are picked out first, as `contain` does.
let arguments = ProcessArguments.all
ReexecutedEntryPoints.dispatch(arguments)
ContainOCICommand.main(globalOptionsAfterCommand(Array(arguments.dropFirst())))

/// runc's global options come before the command (`contain-oci --root R --log F create ...`,
/// as podman and containerd call it); each command takes them as its own, so they are moved
/// behind the command's name.
func globalOptionsAfterCommand(_ arguments: [String]) -> [String] {
    let valued: Set<String> = ["--root", "--log", "--log-format", "--cgroup-manager", "--criu", "--rootless"]
    var globals: [String] = []
    var index = 0
    while index < arguments.count, arguments[index].hasPrefix("-"), !["-h", "--help", "--version", "-v"].contains(arguments[index]) {
        let argument = arguments[index]
        globals.append(argument)
        if valued.contains(argument), index + 1 < arguments.count {
            globals.append(arguments[index + 1])
            index += 1
        }
        index += 1
    }
    guard index < arguments.count, !globals.isEmpty else { return arguments }
    return [arguments[index]] + globals + arguments[(index + 1)...]
}
