import CContainShim
import ContainNetwork
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// The init side: the re-executed `/proc/self/exe`, PID 1 of the container's namespaces.
/// It runs single-threaded (no async, no Foundation), so unshare and mounts act on the process.
public enum ContainerInit {
    /// argv[1] that selects the init side, before any argument parsing happens.
    public static let argument = "__contain_init"
    /// The sync socket's fd, placed there by cshim_spawn.
    static let syncFD: Int32 = 3

    /// `inherited`: the configuration a forked init finds in the memory it shares with the
    /// runtime at the clone; nil: it is sent (the re-executed init). `bornInCgroup`: clone3
    /// made it in its cgroup (see InitConfig.awaitsProceed).
    public static func main(inherited: InitConfig? = nil, bornInCgroup: Bool = false) -> Never {
        let channel = SyncChannel(fd: syncFD)
        let config = receiveConfig(channel, inherited: inherited, bornInCgroup: bornInCgroup)
        let process = config.container.process
        var terminal: Int32?
        var startFIFO: Int32?
        do {
            // Opened here, while the record is still in sight (before the pivot).
            if let path = config.plan.startFIFO {
                startFIFO = try sys("open the start FIFO", path: path) { open(path, CSHIM_O_PATH | O_CLOEXEC) }
            }
            try setUp(config, channel: channel)
            if process.terminal { terminal = try openTerminal(channel) }
        } catch {
            reportAndExit(error, channel: channel)
        }
        runCommand(process, seccomp: config.plan.seccompProgram, terminal: terminal, channel: channel, reportProgress: config.plan.reportProgress,
                   supervised: config.container.contain.runInit, awaitStart: !config.plan.startAtOnce, reportReady: true,
                   outlivesRuntime: config.container.contain.detached, startFIFO: startFIFO,
                   startHooks: (config.container.hooks?.startContainer ?? [], config.plan.hookStates.last ?? ""))
    }

    /// Waits for the config (unless inherited) and the go-ahead (when the parent has something
    /// to do first); the parent gone or confused means there is nobody to report to.
    static func receiveConfig(_ channel: SyncChannel, inherited: InitConfig?, bornInCgroup: Bool) -> InitConfig {
        do {
            let config: InitConfig
            if let inherited {
                config = inherited
            } else {
                guard case .config(let sent) = try channel.expect("config") else { exit(125) }
                config = sent
            }
            if config.awaitsProceed(inherited: inherited != nil, bornInCgroup: bornInCgroup) { _ = try channel.expect("proceed") }
            return config
        } catch {
            exit(125)
        }
    }

    /// Sends how setup failed to the parent, and exits 125.
    static func reportAndExit(_ error: Error, channel: SyncChannel) -> Never {
        if let error = error as? SystemError {
            try? channel.send(.failed(operation: error.operation, path: error.path, errno: error.errno))
        } else {
            // Not a system call's failure: the message alone, no errno made up for it.
            try? channel.send(.failed(operation: "\(error)", path: nil, errno: 0))
        }
        exit(125)
    }

    /// The configuration applied in order: cgroup namespace, hostname, network, rootfs and
    /// mounts, pivot, /proc and /sys, working directory, read-only root.
    static func setUp(_ config: InitConfig, channel: SyncChannel) throws {
        let container = config.container, plan = config.plan
        func progress(_ line: String) {
            if plan.reportProgress { try? channel.send(.progress(line)) }
        }
        umask(0o022)
        // cgroup v1: into its cgroups (made before the clone) first, before a cgroup namespace
        // is made or joined. A thread moving itself: no global lock.
        for directory in plan.joinCgroups {
            try Files.write(directory + "/tasks", "0")
        }
        // Namespaces to join (`--net container:NAME`; a pod's network, ipc and uts), before
        // anything is set up in them. A PID namespace cannot be joined by a process already
        // running: its own is made at clone.
        let joinable: [ContainerConfig.Linux.NamespaceType: Int32] = [
            .network: Int32(CLONE_NEWNET), .ipc: Int32(CLONE_NEWIPC), .uts: Int32(CLONE_NEWUTS), .cgroup: Int32(CLONE_NEWCGROUP)]
        for namespace in container.linux.namespaces {
            guard let path = namespace.path else { continue }
            guard let flag = joinable[namespace.type] else {
                throw SpecError("joining an existing \(namespace.type.rawValue) namespace is not supported")
            }
            let fd = try sys("open", path: path) { open(path, O_RDONLY | O_CLOEXEC) }
            defer { close(fd) }
            try sys("setns", path: path) { cshim_setns(fd, flag) }
        }
        if plan.newCgroupNamespace {
            // Now that the parent put us in our cgroup, it becomes the namespace's root.
            try sys("unshare cgroup namespace") { cshim_unshare(Int32(CLONE_NEWCGROUP)) }
        }
        let own = Set(container.linux.namespaces.filter { $0.path == nil }.map(\.type))
        // Never without a UTS namespace of its own: that name would be the host's.
        if let hostname = container.hostname, own.contains(.uts) {
            progress("setting hostname: \(hostname)")
            try sys("sethostname", path: hostname) { sethostname(hostname, hostname.utf8.count) }
        }
        if own.contains(.network) {
            // A network namespace of its own: lo up.
            try Rtnetlink(transport: try MnlSocket()).setUp(index: Rtnetlink.loopbackIndex)
        }
        progress("setting up rootfs: \(plan.rootfsDisplay)")
        // /dev/shm: a bind the configuration lists (an OCI bundle's), or a tmpfs of its own
        // IPC namespace's, or the host's with the host's IPC namespace.
        let isShm = { (mount: ContainerConfig.Mount) in mount.destination == "/dev/shm" && mount.type == "bind" }
        let shm: Rootfs.Shm
        if let bound = container.mounts.first(where: isShm), let source = bound.source {
            shm = .bind(source, flags: try VolumeSpec(mount: bound).flags)
        } else if own.contains(.ipc) || container.linux.namespaces.contains(where: { $0.type == .ipc }) {
            shm = .size(container.contain.shmSize ?? Rootfs.defaultShmSize)
        } else {
            shm = .host
        }
        try Rootfs.prepare(rootfs: container.root.path, overlay: plan.overlay,
                           volumes: try container.mounts.filter { $0.type != "tmpfs" && !isShm($0) }.map(VolumeSpec.init(mount:)),
                           tmpfs: container.mounts.filter { $0.type == "tmpfs" }, bindFiles: plan.bindFiles, shm: shm)
        // config.json's createContainer hooks: in the container's mount namespace, before the
        // pivot (their paths are the host's).
        if let hooks = container.hooks?.createContainer, !hooks.isEmpty, let state = plan.hookStates.first {
            try OCIHooks.run(hooks, phase: "createContainer", state: state)
        }
        progress("pivoting root")
        try Rootfs.pivot(rootfsDisplay: plan.rootfsDisplay)
        progress("mounting /proc")
        try Rootfs.mountProc()
        try Rootfs.mountSys(readOnly: !container.contain.privileged)
        if plan.mountCgroup2 { try Rootfs.mountCgroup2() }
        if !plan.cgroupV1Hierarchies.isEmpty { try Rootfs.mountCgroupV1(plan.cgroupV1Hierarchies) }
        // Bridge networks: the parent wired them while all of the above was done.
        var interfaces: [String] = []
        if plan.networksFollow {
            guard case .networks(let wired) = try channel.expect("networks") else { exit(125) }
            for network in wired.networks {
                progress("configuring \(network.interface): \(network.address)/\(network.prefix)"
                         + (network.gateway.map { " via \($0)" } ?? ""))
                try configure(network)
                interfaces.append(network.interface)
            }
        }
        // Namespaced kernel parameters (checked when the configuration was made), through this
        // namespace's own /proc, before /proc/sys becomes read-only.
        for key in container.linux.sysctl.keys.sorted() {
            try Files.write(Sysctls.path(of: key), container.linux.sysctl[key]!)
        }
        // Hidden and read-only paths, while this process may still mount (it drops that right
        // in Hardening.finalize, right before the command).
        try MaskedPaths.apply(masked: container.linux.maskedPaths, readOnly: container.linux.readonlyPaths)
        for device in container.linux.devices { try Rootfs.makeDevice(device) }
        let workdir = container.process.cwd
        if !Files.isDirectory(workdir) { try Files.makeDirectories(workdir) }
        try sys("chdir", path: workdir) { chdir(workdir) }
        if container.root.readonly { try Rootfs.makeRootReadOnly() }
        try awaitCarrier(interfaces)
    }

    /// `-t`: a new pty in the container's own devpts. The master goes to the parent, which
    /// relays it to the caller's terminal; the slave (returned) becomes the command's
    /// controlling terminal and standard streams just before exec. The caller's own terminal
    /// never enters the container.
    static func openTerminal(_ channel: SyncChannel) throws -> Int32 {
        var slave: Int32 = -1
        let master = try sys("open /dev/ptmx", path: "/dev/pts") { cshim_pty_open(&slave) }
        defer { close(master) }
        try channel.send(.terminal, passing: master)
        return slave
    }

    /// The container's end of its veth, from inside its own namespace (the socket is opened
    /// here, so no thread ever has to setns): address, up, default route. Its carrier is
    /// awaited last (awaitCarrier), after the rest of the setup.
    static func configure(_ network: InitNetwork) throws {
        guard let address = IPv4Address(network.address) else { throw SpecError("eth0: invalid address `\(network.address)`") }
        let rt = Rtnetlink(transport: try MnlSocket())
        guard let link = try rt.link(named: network.interface) else {
            throw SystemError("netlink: find link", path: network.interface, errno: ENODEV)
        }
        try rt.addAddress(index: link.index, address: address, prefix: Int(network.prefix))
        try rt.setUp(index: link.index)
        if let text = network.gateway {
            guard let gateway = IPv4Address(text) else { throw SpecError("eth0: invalid gateway `\(text)`") }
            try rt.addDefaultRoute(via: gateway)
        }
        // Without duplicate address detection (the lease made it unique): usable at once.
        if let text = network.address6 {
            guard let address6 = IPv6Address(text) else { throw SpecError("\(network.interface): invalid address `\(text)`") }
            try rt.addAddress(index: link.index, address: address6, prefix: Int(network.prefix6))
            if let text = network.gateway6 {
                guard let gateway6 = IPv6Address(text) else { throw SpecError("\(network.interface): invalid gateway `\(text)`") }
                try rt.addDefaultRoute(via: gateway6)
            }
        }
    }

    /// A fresh veth forwards only once the kernel's link watcher has seen its carrier (it runs
    /// at most once a second when links change in a burst): until then the bridge drops what
    /// the command sends. Waits for each interface, boundedly (3 s in all), so the first
    /// packets arrive.
    static func awaitCarrier(_ interfaces: [String]) throws {
        guard !interfaces.isEmpty else { return }
        let rt = Rtnetlink(transport: try MnlSocket())
        let deadline = StartTimings.now() + 3_000_000_000
        for interface in interfaces {
            while StartTimings.now() < deadline, try rt.link(named: interface)?.isOperationallyUp != true {
                usleep(1000)
            }
        }
    }

    /// Blocks until contain-oci's `start` writes to the record's start FIFO (through the
    /// descriptor opened before the pivot; its reopening blocks until there is a writer). A
    /// `start` that ended without writing leaves it waiting for the next. The read end stays
    /// open (close-on-exec): `start` sees it close when the process is exec'd.
    static func awaitStartRequest(fifo: Int32) throws {
        let path = "/proc/self/fd/\(fifo)"
        while true {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                if errno == EINTR { continue }
                throw SystemError.last("open the start FIFO", path: path)
            }
            var byte: UInt8 = 0
            let n = read(fd, &byte, 1)
            if n == 1 { break }
            close(fd)
        }
        close(fifo)
    }

    /// Looks the command up and execs it, or (`supervised`: --init, and exec's helper) forks it
    /// and stays to forward signals and pass its status on. Never returns: on success the
    /// socket closes on exec and the parent sees end of file; failures are sent over it.
    /// `reportReady` (the container's init): once the command is found, report `ready`, and with
    /// `awaitStart` wait for `start` (`contain start` sends it to a created container).
    static func runCommand(_ process: ContainerConfig.Process, seccomp: SeccompProgram?, terminal: Int32? = nil, channel: SyncChannel,
                           reportProgress: Bool, supervised: Bool,
                           awaitStart: Bool = false, reportReady: Bool = false, outlivesRuntime: Bool = false,
                           startFIFO: Int32? = nil, startHooks: ([ContainerConfig.Hook], String) = ([], ""),
                           delayMilliseconds: UInt32 = 0) -> Never {
        var process = process
        // The user, looked up in the container's own files; HOME from it unless given.
        let identity: UserIdentity
        do {
            identity = try UserIdentity.resolve(process.user, passwd: (try? Files.read("/etc/passwd")) ?? "",
                                                group: (try? Files.read("/etc/group")) ?? "")
        } catch {
            reportAndExit(error, channel: channel)
        }
        if !process.env.contains(where: { $0.hasPrefix("HOME=") }) { process.env.append("HOME=" + identity.home) }
        let command = process.args.first ?? ""
        let path: String
        switch CommandResolver.resolve(command, environment: process.env) {
        case .found(let p): path = p
        case .notFound:
            try? channel.send(.execFailed(command: command, errno: ENOENT))
            exit(127)
        case .notExecutable(let p, let err):
            try? channel.send(.execFailed(command: p, errno: err))
            exit(126)
        }
        if outlivesRuntime {
            // From here on the container (or a detached exec) is its own: a supervisor killed
            // with -9 leaves it running, owned by this process (its record and lease name it).
            do { try sys("prctl PR_SET_PDEATHSIG") { cshim_set_pdeathsig(0) } } catch { reportAndExit(error, channel: channel) }
        }
        if reportReady {
            do {
                try channel.send(.ready)
                if let startFIFO {
                    try awaitStartRequest(fifo: startFIFO)
                } else if awaitStart {
                    _ = try channel.expect("start")
                }
            } catch {
                exit(125)  // the parent is gone or confused: nobody asked for the command
            }
        }
        if reportProgress { try? channel.send(.progress("running: \(path)")) }
        // The last steps before the command: its terminal, then user, capabilities,
        // no_new_privs, seccomp.
        do {
            // config.json's startContainer hooks: started, before the process, in the container.
            try OCIHooks.run(startHooks.0, phase: "startContainer", state: startHooks.1)
            if let terminal { try sys("take the terminal", path: "/dev/pts") { cshim_take_terminal(terminal) } }
            try Hardening.finalize(process: process, identity: identity, seccomp: seccomp)
        } catch {
            // An engine's container: nobody listens on the channel after `create`; its stderr
            // is what the engine logs.
            if startFIFO != nil { Progress.emit("contain-oci: \(error)\n") }
            reportAndExit(error, channel: channel)
        }
        _ = fcntl(syncFD, F_SETFD, FD_CLOEXEC)

        let argv = process.args.map { strdup($0) } + [nil]
        let envp = process.env.map { strdup($0) } + [nil]
        if supervised {
            MiniInit.run(path: path, argv: argv, envp: envp, syncFD: syncFD, delayMilliseconds: delayMilliseconds)
        }
        execve(path, argv, envp)
        let err = errno
        if startFIFO != nil { Progress.emit("contain-oci: exec \(path): \(String(cString: strerror(err)))\n") }
        _ = fcntl(syncFD, F_SETFD, 0)
        try? channel.send(.execFailed(command: path, errno: err))
        exit(err == ENOENT ? 127 : 126)
    }
}

extension VolumeSpec {
    /// A bind mount of the configuration (`-v`), read-only when its options say `ro`.
    init(mount: ContainerConfig.Mount) throws {
        guard mount.type == "bind" || mount.options.contains("bind") || mount.options.contains("rbind"),
              let source = mount.source else {
            throw SpecError("mount \(mount.type ?? "?") on \(mount.destination): only bind mounts are supported")
        }
        self.init(source: source, target: mount.destination, readOnly: mount.options.contains("ro"))
        let flags: [String: Int32] = ["nosuid": Int32(MS_NOSUID), "nodev": Int32(MS_NODEV), "noexec": Int32(MS_NOEXEC)]
        self.flags = mount.options.reduce(0) { $0 | UInt(flags[$1] ?? 0) }
        recursive = !(mount.options.contains("bind") && !mount.options.contains("rbind"))
    }
}
