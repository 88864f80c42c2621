import CContainShim
import ContainNetwork
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// The parent side of `contain run`: prepares the cgroup, starts the init in new namespaces,
/// releases it once it is in place, supervises it, reports, and cleans up on every path out.
public struct ContainerRunner {
    /// Signals `contain` passes on to the container.
    static let forwardedSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH]
    /// Signals that abort the start while the container is still being set up.
    static let abortingSignals: Set<Int32> = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]
    /// Signals a terminal sends to its whole foreground process group: the container, which
    /// shares ours, already got them, so they are not sent a second time.
    static let terminalSignals: Set<Int32> = [SIGINT, SIGQUIT, SIGWINCH, SIGHUP]

    public let spec: ContainerSpec
    public let progress: Progress
    public let stateRoot: String
    public let networkDirectory: String
    public let timings: StartTimings
    /// Where rootfs tarballs are unpacked, by content.
    public var imageCache = TarballRootfs.defaultCache

    public init(spec: ContainerSpec, progress: Progress, stateRoot: String = ContainerRecord.defaultStateRoot,
                networkDirectory: String = NetworkStore.defaultDirectory, timings: StartTimings = StartTimings(enabled: false)) {
        self.timings = timings
        self.spec = spec
        self.progress = progress
        self.stateRoot = stateRoot
        self.networkDirectory = networkDirectory
    }

    /// Runs the container to its end and returns the exit code for `contain`.
    public func run() throws -> Int32 {
        guard geteuid() == 0 else { throw RunFailure.runtime("contain run needs root privileges") }
        guard !spec.command.isEmpty else { throw RunFailure.runtime("no command given: contain run --rootfs DIR -- CMD [ARGS...]") }
        let rootfs = try resolveRootfs()
        timings.mark("parse")

        ContainerRecord.reclaimAbandoned(stateRoot: stateRoot, report: progress.say)
        timings.mark("reclaim")
        let id = try spec.id ?? Identifiers.randomHex()
        let hostname = spec.hostname ?? String(id.prefix(12))
        let plan = try CgroupPlan(layout: try CgroupLayout.detect(), parent: spec.cgroupParent, id: id, limits: spec.limits)

        let environment = spec.defaultEnvironment(hostname: hostname, term: getenv("TERM").map { String(cString: $0) })
        var info = ContainerInfo(id: id, name: spec.name, command: spec.command, created: time(nil), rootfs: rootfs,
                                 network: spec.network.description, keep: spec.detached && !spec.removeWhenDone)
        info.environment = environment
        let record = try ContainerRecord.create(stateRoot: stateRoot, info: info, cgroupDirectories: plan.containerDirectories)
        var exitCode: Int32?
        var recordStatus = ContainerStatus()
        defer { record.finish(exitCode: exitCode, status: recordStatus) }
        if spec.detached { try redirectStandardStreams(to: record.directory + "/output") }
        let overlay = spec.writableRootfs ? nil : try makeOverlayDirectories(record.directory, rootfs: rootfs)
        let volumes = try spec.volumes.map(resolveVolume)
        let cgroup = ContainerCgroup(plan: plan)
        try cgroup.create()
        timings.mark("cgroup")
        defer {
            progress.say("cleaning up cgroups")
            do { try cgroup.destroy() } catch { Progress.error("cleaning up cgroups: \(error)") }
        }

        // Bridge networks: bridge, rules and lease now; the veth once the namespace exists.
        let networks = NetworkManager(store: NetworkStore(directory: networkDirectory))
        var endpoint: Endpoint?
        var bindFiles: [BindFile] = []
        if case .bridge(let name) = spec.network {
            endpoint = try networks.attach(network: name, EndpointRequest(
                containerID: id, name: spec.name, hostname: hostname, address: spec.address,
                hostsFile: record.directory + "/hosts", owner: .current(), ports: spec.ports))
            let resolv = record.directory + "/resolv.conf"
            try Files.write(resolv, ContainerFiles.resolvConf(host: (try? Files.read("/etc/resolv.conf")) ?? "",
                                                              upstream: try? Files.read("/run/systemd/resolve/resolv.conf"),
                                                              dns: spec.dns), create: true)
            bindFiles = [BindFile(source: record.directory + "/hosts", target: "/etc/hosts"),
                         BindFile(source: resolv, target: "/etc/resolv.conf")]
        }
        defer { if let endpoint { networks.detach(endpoint) } }
        if endpoint != nil { timings.mark("network") }

        let signals = try SignalFD(signals: Self.forwardedSignals + [SIGCHLD])
        let channel = try SyncChannel.pair()
        let namespaces = Namespaces(network: spec.network.ownsNamespace)
        progress.say("creating namespaces: \(namespaces.names.joined(separator: " "))")
        let child = try ChildProcess.spawnInit(namespaces: namespaces, syncFD: channel.child.fd)
        channel.child.close()
        defer { child.killAndReap() }
        timings.mark("clone")
        recordStatus.pid = ProcessIdentity.of(pid: child.pid)
        recordStatus.address = endpoint.map { $0.address.description }
        record.writeStatus(recordStatus)
        var initNetwork: InitNetwork?
        if let endpoint {
            let n = endpoint.network
            progress.say("connecting to network \(n.name): \(endpoint.address)/\(n.subnet.prefix) on \(n.bridge) (\(endpoint.hostInterface))")
            try networks.connect(endpoint, containerPID: child.pid)
            if !endpoint.ports.isEmpty {
                progress.say("publishing ports: " + endpoint.ports.map(\.description).joined(separator: " "))
            }
            timings.mark("veth")
            initNetwork = InitNetwork(interface: Endpoint.containerInterface, address: endpoint.address.description,
                                      prefix: Int32(n.subnet.prefix), gateway: n.internal ? nil : n.gateway.description)
        }

        try channel.parent.send(.config(InitConfig(
            rootfs: rootfs, rootfsDisplay: spec.rootfsArgument, hostname: hostname, argv: spec.command,
            environment: environment,
            bringUpLoopback: spec.network.ownsNamespace, newCgroupNamespace: namespaces.cgroup,
            mountCgroup2: namespaces.cgroup && plan.layout.isUnified,
            reportProgress: !progress.quiet || timings.enabled, network: initNetwork, bindFiles: bindFiles,
            overlay: overlay, volumes: volumes, readOnlyRoot: spec.readOnlyRoot, workdir: spec.workdir, user: spec.user,
            runInit: spec.runInit)))
        progress.say(spec.limits.isEmpty ? "joining cgroup: \(spec.cgroupParent)/\(id.prefix(12))"
                                         : "applying cgroup limits: \(spec.limits.summary)")
        try cgroup.add(pid: child.pid)
        try channel.parent.send(.proceed)
        timings.mark("join")

        try ChildSupervisor(progress: progress, timings: timings).awaitExec(of: child, channel: channel.parent, signals: signals)
        timings.mark("exec")
        if timings.enabled { Progress.emit("[contain] timings: " + timings.summary + "\n") }
        if spec.detached { Progress.switchToLog(record.directory + "/runtime.log", marker: Self.startedMarker + id) }
        let status = try ChildSupervisor(progress: progress, timings: timings).supervise(child, signals: signals)

        let usage = cgroup.usage()
        report(status, usage: usage)
        exitCode = status.shellCode
        return status.shellCode
    }

    /// The line a detached supervisor prints once its container runs.
    public static let startedMarker = "[contain] started "

    /// A detached container's stdout and stderr: its record's `output`, which `logs` reads.
    private func redirectStandardStreams(to path: String) throws {
        let fd = try sys("open", path: path) { open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600) }
        defer { close(fd) }
        try sys("dup2") { dup2(fd, 1) }
        try sys("dup2") { dup2(fd, 2) }
    }

    /// The copy-on-write layer lives in the container's record and goes with it.
    private func makeOverlayDirectories(_ directory: String, rootfs: String) throws -> OverlayDirectories {
        guard !rootfs.contains(","), !rootfs.contains(":") else {
            throw RunFailure.runtime("rootfs `\(spec.rootfsArgument)`: a path with `,` or `:` cannot be an overlay layer; use --rootfs-rw")
        }
        let dirs = OverlayDirectories(upper: directory + "/upper", work: directory + "/work", merged: directory + "/merged")
        for dir in [dirs.upper, dirs.work, dirs.merged] { try Files.makeDirectory(dir, mode: 0o755) }
        return dirs
    }

    private func resolveVolume(_ volume: VolumeSpec) throws -> VolumeSpec {
        guard Files.exists(volume.source) else {
            throw RunFailure.runtime("volume `\(volume)`: the host path `\(volume.source)` does not exist")
        }
        var resolved = volume
        resolved.source = try Files.realPath(volume.source)
        return resolved
    }

    private func resolveRootfs() throws -> String {
        let path = spec.rootfsArgument
        guard Files.exists(path) else { throw SystemError("rootfs", path: path, errno: ENOENT) }
        if TarballRootfs.isTarball(path) {
            guard !spec.writableRootfs else {
                throw RunFailure.runtime("--rootfs-rw needs a directory: an unpacked tarball is shared by every container started from it")
            }
            return try TarballRootfs.prepare(try Files.realPath(path), cache: imageCache, progress: progress, display: path)
        }
        guard Files.isDirectory(path) else { throw SystemError("rootfs", path: path, errno: ENOTDIR) }
        let resolved = try Files.realPath(path)
        guard resolved != "/" else { throw RunFailure.runtime("rootfs `\(path)`: the host's root cannot be a container's rootfs") }
        return resolved
    }

    private func report(_ status: WaitStatus, usage: CgroupUsage) {
        switch status {
        case .exited(let code):
            progress.say("container exited: exit status \(code)")
        case .signaled(let signal, _):
            progress.say("container killed by signal \(signal) (\(Signals.name(signal)))")
        }
        if usage.oomKills > 0 {
            let limit = spec.limits.memory.map { " (memory limit \($0))" } ?? ""
            progress.say("container was OOM-killed\(limit)")
        }
        let summary = usage.summary
        if !summary.isEmpty { progress.say("usage: \(summary)") }
    }

}

/// The namespaces a container gets. The cgroup namespace is entered by the init itself once it
/// is inside its cgroup, so that cgroup becomes the namespace's root.
struct Namespaces {
    let network: Bool
    let cgroup: Bool = Files.exists("/proc/self/ns/cgroup")

    var cloneFlags: Int32 {
        var flags = CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWNS | CLONE_NEWIPC
        if network { flags |= CLONE_NEWNET }
        return Int32(flags)
    }

    var names: [String] {
        ["pid", "uts", "mnt", "ipc"] + (network ? ["net"] : []) + (cgroup ? ["cgroup"] : [])
    }
}
