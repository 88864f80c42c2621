import Foundation
import Testing

/// Runs the built `contain` binary as a user would, against the test rootfs, and checks what a
/// user would check. Enabled by CONTAIN_INTEGRATION=1 (Scripts/test.sh sets it, as root, after
/// building the rootfs); a plain `swift test` runs only the unit tests.
enum Harness {
    static let enabled = ProcessInfo.processInfo.environment["CONTAIN_INTEGRATION"] == "1"

    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// Multiplies every wait (CONTAIN_TEST_TIME_SCALE): the cgroup v2 VM emulates its CPU and
    /// is several times slower. Waits end as soon as their condition holds, so a larger scale
    /// only lengthens failures.
    static let timeScale = ProcessInfo.processInfo.environment["CONTAIN_TEST_TIME_SCALE"].flatMap(Double.init) ?? 1

    /// The binary under test: CONTAIN_BINARY, else the release build that ships
    /// (Scripts/build-release.sh, as Scripts/setup.sh builds it), never a debug build by default.
    static let binary = ProcessInfo.processInfo.environment["CONTAIN_BINARY"].flatMap { $0.isEmpty ? nil : $0 }
        ?? packageRoot + "/.build/release/contain"
    static let rootfs = ProcessInfo.processInfo.environment["CONTAIN_TEST_ROOTFS"] ?? packageRoot + "/.rootfs/test"
    /// The cgroup layout the tests check directly; the hierarchies of the machines here (v1:
    /// those contain uses, devices, freezer and cpuset among them) or /sys/fs/cgroup itself (v2).
    static let cgroupRoots: [String] = {
        let fm = FileManager.default
        if fm.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers") { return ["/sys/fs/cgroup"] }
        // Every v1 hierarchy: an OCI bundle's container joins them all (blkio too), as runc does.
        return ["memory", "cpu", "cpuacct", "pids", "devices", "freezer", "cpuset", "blkio", "hugetlb", "net_cls", "net_prio",
                "perf_event", "rdma", "misc"].map { "/sys/fs/cgroup/" + $0 }
            .filter { fm.fileExists(atPath: $0 + "/cgroup.procs") }
    }()
    static var isCgroupV2: Bool { cgroupRoots == ["/sys/fs/cgroup"] }

    /// Checks that the environment is what the tests need; fails loudly instead of skipping.
    static func requireEnvironment() throws {
        try #require(getuid() == 0, "integration tests run as root")
        try #require(FileManager.default.isExecutableFile(atPath: binary),
                     "no contain binary at \(binary): build it with Scripts/build-release.sh, or set CONTAIN_BINARY")
        try #require(FileManager.default.isExecutableFile(atPath: rootfs + "/usr/bin/payload"),
                     "test rootfs with payload at \(rootfs) (Scripts/build-rootfs.sh)")
        try #require(!cgroupRoots.isEmpty, "cgroup hierarchies mounted")
    }
}

struct RunResult: CustomStringConvertible {
    let status: Int32
    let stdout: String
    let stderr: String

    /// stderr without the `[contain] ` progress lines.
    var errors: [String] { stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("[contain] error:") } }
    var progress: [String] { stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("[contain] ") } }
    var description: String { "status \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
}

/// One test's sandbox for contain: its own state directory and its own cgroup parent
/// (`contain-test/<random>`), so tests run in parallel and each can prove it left nothing behind.
final class Sandbox {
    let stateRoot: String
    let cgroupParent: String

    init() throws {
        try Harness.requireEnvironment()
        let tag = String(UInt64.random(in: 0..<UInt64.max), radix: 16)
        // Under /run: tmpfs in the cgroup v2 VM, where /tmp is an overlay and so cannot hold the
        // upper layer of a container's copy-on-write root.
        stateRoot = "/run/contain-it-" + tag
        cgroupParent = "contain-test/" + tag
        try FileManager.default.createDirectory(atPath: stateRoot, withIntermediateDirectories: true)
    }

    var commonArguments: [String] { ["--root", stateRoot] }

    /// `contain run --rootfs <test rootfs> --cgroup-parent <ours> <options> -- <command>`.
    func run(_ options: [String] = [], _ command: [String], stdin: String? = nil, timeout: Double = 60) throws -> RunResult {
        try contain(["run", "--rootfs", Harness.rootfs, "--cgroup-parent", cgroupParent] + commonArguments + options + ["--"] + command,
                    stdin: stdin, timeout: timeout)
    }

    func contain(_ arguments: [String], stdin: String? = nil, timeout: Double = 60) throws -> RunResult {
        let process = try start(arguments, stdin: stdin)
        return try process.wait(timeout: timeout)
    }

    func start(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> Running {
        try Running(arguments: arguments, stdin: stdin, environment: environment)
    }

    /// The container directories under our cgroup parent in every hierarchy.
    func cgroupChildren() -> [String] {
        Harness.cgroupRoots.flatMap { root -> [String] in
            let dir = root + "/" + cgroupParent
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            return entries.filter { isDirectory(dir + "/" + $0) }.map { dir + "/" + $0 }
        }
    }

    /// Pids inside the container cgroups under our parent.
    func containerPids() -> [pid_t] {
        cgroupChildren().flatMap { dir -> [pid_t] in
            ((try? String(contentsOfFile: dir + "/cgroup.procs", encoding: .utf8)) ?? "")
                .split(separator: "\n").compactMap { pid_t($0) }
        }
    }

    /// Nothing left: no container cgroup, no state record. Then removes our parent cgroups.
    func expectClean(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(cgroupChildren() == [], "container cgroups left behind", sourceLocation: sourceLocation)
        let records = (try? FileManager.default.contentsOfDirectory(atPath: stateRoot + "/containers")) ?? []
        #expect(records == [], "state records left behind", sourceLocation: sourceLocation)
    }

    deinit {
        for root in Harness.cgroupRoots {
            let dir = root + "/" + cgroupParent
            for child in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where isDirectory(dir + "/" + child) {
                rmdir(dir + "/" + child)
            }
            rmdir(dir)
            rmdir(root + "/contain-test")  // the last sandbox removes the shared parent
        }
        try? FileManager.default.removeItem(atPath: stateRoot)
    }
}

/// A started `contain` process whose stdout and stderr are collected as they arrive.
final class Running: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var collected: [Data] = [Data(), Data()]
    private let group = DispatchGroup()

    /// Runs `contain` with `arguments`, or `executable` with them when given (nsenter, a listener).
    init(arguments: [String], stdin: String?, executable: String? = nil, environment extra: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: executable ?? Harness.binary)
        process.arguments = arguments
        let pipes = [Pipe(), Pipe()]
        process.standardOutput = pipes[0]
        process.standardError = pipes[1]
        var environment = ProcessInfo.processInfo.environment
        environment["CONTAIN_HOST_ONLY_SECRET"] = "leaked"
        environment.merge(extra) { _, new in new }
        process.environment = environment
        let input = Pipe()
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try process.run()
        if let stdin {
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try input.fileHandleForWriting.close()
        }
        for (index, pipe) in pipes.enumerated() {
            group.enter()
            let reader = pipe.fileHandleForReading
            Thread.detachNewThread {
                while true {
                    let chunk = reader.availableData
                    if chunk.isEmpty { break }
                    self.lock.withLock { self.collected[index].append(chunk) }
                }
                self.group.leave()
            }
        }
    }

    var pid: pid_t { process.processIdentifier }
    var stdoutSoFar: String { lock.withLock { String(decoding: collected[0], as: UTF8.self) } }
    var stderrSoFar: String { lock.withLock { String(decoding: collected[1], as: UTF8.self) } }

    func signal(_ sig: Int32) { kill(pid, sig) }

    func wait(timeout unscaled: Double = 60) throws -> RunResult {
        let timeout = unscaled * Harness.timeScale
        let deadline = Date().addingTimeInterval(timeout)
        // Both its output closed and the process gone, by the deadline: a process that closed
        // its streams can still hang, and waitUntilExit alone would wait for it forever.
        var finished = group.wait(timeout: .now() + timeout) == .success
        while finished && process.isRunning {
            if Date() >= deadline { finished = false; break }
            usleep(10_000)
        }
        if !finished {
            kill(pid, SIGKILL)
            _ = group.wait(timeout: .now() + 10)
            Issue.record("contain did not finish within \(timeout)s")
        }
        process.waitUntilExit()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return lock.withLock {
            RunResult(status: status, stdout: String(decoding: collected[0], as: UTF8.self),
                      stderr: String(decoding: collected[1], as: UTF8.self))
        }
    }

    /// Waits until the container has printed `text` on stdout.
    func waitForOutput(_ text: String, timeout: Double = 30) -> Bool {
        eventually(timeout: timeout) { stdoutSoFar.contains(text) }
    }
}

func isDirectory(_ path: String) -> Bool {
    var dir: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &dir) && dir.boolValue
}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(timeout unscaled: Double = 10, _ condition: () -> Bool) -> Bool {
    let timeout = unscaled * Harness.timeScale
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

func mountTable() throws -> [String] {
    // Mount ids and optional fields vary with nothing; compare the mount points and sources.
    // Network namespaces that other tests create and delete meanwhile (`ip netns add` binds
    // them under /run/netns) are not contain's doing.
    try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8).split(separator: "\n").map { line in
        let f = line.split(separator: " ")
        return "\(f[3]) \(f[4])"
    }.filter { !$0.contains(" /run/netns") }.sorted()
}

/// Runs a helper tool (tmux, setpriv) to its end with posix_spawn and waitpid, its stdout and
/// stderr in `output` (a file: a daemon the tool starts must not hold a pipe open).
/// Foundation's Process is avoided here: it missed the exit of tmux's client and waited forever.
func runTool(_ path: String, _ arguments: [String], output: String) throws -> (status: Int32, output: String) {
    let code = try spawnTool(path, arguments, stdout: output, stderr: nil)
    return (code, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
}

/// The same with stdout and stderr apart (`scratch`.out and `scratch`.err) and `environment`
/// added to the test's, under `timeout` (scaled); an engine's client (podman, ctr), whose exit
/// Foundation's Process also missed (podman's, once it had started conmon).
func runTool(_ path: String, _ arguments: [String], scratch: String, environment: [String: String] = [:],
             timeout unscaled: Double = 60) throws -> RunResult {
    let limit = String(Int(unscaled * Harness.timeScale))
    let code = try spawnTool("/usr/bin/timeout", ["--kill-after=10", limit, path] + arguments, stdout: scratch + ".out",
                             stderr: scratch + ".err", environment: environment)
    if code == 124 || code == 137 { Issue.record("\(path) \(arguments.prefix(3).joined(separator: " ")) did not finish within \(limit)s") }
    return RunResult(status: code, stdout: (try? String(contentsOfFile: scratch + ".out", encoding: .utf8)) ?? "",
                     stderr: (try? String(contentsOfFile: scratch + ".err", encoding: .utf8)) ?? "")
}

/// posix_spawn and waitpid: stdin /dev/null, stdout (and stderr, or into stdout) to files, no
/// other descriptor, no signal blocked. Returns the shell's status (128+N for signal N).
private func spawnTool(_ path: String, _ arguments: [String], stdout: String, stderr: String?,
                       environment extra: [String: String] = [:]) throws -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    if let stderr {
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    } else {
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
    }
    _ = spawnActionsCloseFrom(&actions, 3)  // no pipe of another test may leak into a daemon
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var merged = ProcessInfo.processInfo.environment
    merged.merge(extra) { _, new in new }
    let envp = merged.map { strdup($0.key + "=" + $0.value) } + [nil]
    defer { envp.forEach { free($0) } }
    // The tool starts with no signal blocked and default handlers, whatever the test runner's
    // threads block (a daemon such as tmux started with SIGCHLD blocked never reaps and hangs).
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t(), all = sigset_t()
    sigemptyset(&none)
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
    guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EIO) }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}

/// glibc 2.34's posix_spawn_file_actions_addclosefrom_np, which Swift's Glibc module does not show.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
func spawnActionsCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32

/// A real terminal: a tmux session (on a server of its own) running `command`, driven with
/// send-keys and read with capture-pane. The server is killed when this goes away.
final class TerminalSession {
    private let socket = "contain-it-\(getpid())-\(Int.random(in: 0..<1_000_000))"
    private let session = "t"
    private let output: String

    init(_ command: String, scratch: String) throws {
        output = scratch + "/tmux.out"
        _ = try tmux(["new-session", "-d", "-s", session, "-x", "100", "-y", "30", command])
    }

    deinit { _ = try? tmux(["kill-server"]) }

    @discardableResult
    private func tmux(_ args: [String]) throws -> String {
        try runTool("/usr/bin/tmux", ["-L", socket] + args, output: output).output
    }

    /// Types `text` and presses Enter.
    func type(_ text: String) throws { try tmux(["send-keys", "-t", session, text, "Enter"]) }

    /// Sends a key such as "C-c".
    func press(_ key: String) throws { try tmux(["send-keys", "-t", session, key]) }

    var screen: String { (try? tmux(["capture-pane", "-p", "-t", session])) ?? "" }

    /// Waits until the screen shows `text`.
    func shows(_ text: String) -> Bool { eventually { screen.contains(text) } }
}
