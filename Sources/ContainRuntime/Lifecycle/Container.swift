import CContainShim
import ContainNetwork
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// Where a runtime keeps its state, and how it talks while it works.
public struct RuntimeContext {
    public var stateRoot: String
    public var networkDirectory: String
    /// Where rootfs tarballs are unpacked, by content.
    public var imageCache: String
    /// Where named volumes live (VolumeStore).
    public var volumeDirectory: String
    public var progress: Progress
    public var timings: StartTimings

    public init(stateRoot: String = ContainerRecord.defaultStateRoot, networkDirectory: String = NetworkStore.defaultDirectory,
                imageCache: String = TarballRootfs.defaultCache, volumeDirectory: String = VolumeStore.defaultDirectory,
                progress: Progress, timings: StartTimings = StartTimings(enabled: false)) {
        self.volumeDirectory = volumeDirectory
        self.stateRoot = stateRoot
        self.networkDirectory = networkDirectory
        self.imageCache = imageCache
        self.progress = progress
        self.timings = timings
    }
}

/// One container's life, in the OCI runtime's steps:
///
///     create   record, cgroups, network, namespaces, rootfs: everything but the command.
///              The init then waits (sync message `ready`), the command already found.
///     start    the init execs the command (`start`; end of file on the socket = exec done).
///     wait     signals forwarded until the init ends; its status.
///     delete   undoes what was made, in reverse, keeping going after an error and returning
///              every failure; the record goes last (or stays with the exit status, if kept).
///
/// `contain run` is create + start + wait + delete in one process; `contain create` is a
/// supervisor that stops after create until `contain start` asks it (ContainerRecord's start
/// FIFO). The record and the network lease belong to the init (its pid and start time): a
/// container is reclaimed only once its init is gone.
public final class Container {
    /// The one configuration; create resolves its root and mount sources on the host.
    public private(set) var config: ContainerConfig
    public let context: RuntimeContext
    public let id: String
    public let hostname: String
    /// `contain create`: stop after create until `contain start`.
    public let createOnly: Bool
    /// The root as the configuration gave it, for messages (config.root.path gets resolved).
    private let rootfsDisplay: String
    /// What the configuration asks of contain's side, checked once.
    private let limits: ResourceLimits
    private let cgroupParent: String
    /// The container's own cgroup directory's name under `cgroupParent` (its id, or the client's name).
    private let cgroupLeaf: String
    /// Its bridge networks, the first (`eth0`) carrying the default route and the ports.
    private let bridges: [BridgeAttachment]
    private var bridge: BridgeAttachment? { bridges.first }

    public private(set) var record: ContainerRecord?
    private var cgroup: ContainerCgroup?
    private let networks: NetworkManager
    private var endpoints: [Endpoint] = []
    /// Its published ports, bound on the host while it lives (PortReservations).
    private var portReservations: PortReservations?
    /// `--add-host` entries; address 0.0.0.0 is `host-gateway` (writeNameFiles puts the first
    /// network's gateway there).
    private var extraHosts: [ContainerFiles.Peer] {
        config.contain.extraHosts.compactMap { entry in
            guard let colon = entry.lastIndex(of: ":") else { return nil }
            let address = String(entry[entry.index(after: colon)...])
            return ContainerFiles.Peer(name: String(entry[..<colon]), address: address == "host-gateway" ? IPv4Address(0) : IPv4Address(address) ?? IPv4Address(0))
        }
    }

    /// `--net container:NAME`: that container's record, whose name files this one shares.
    private var sharedNetworkRecord: String?
    private var child: ChildProcess?
    private var channel: SyncChannel?
    private var signals: SignalFD?
    private var streams: StreamRelay?
    private let interactive: Bool
    private var stopSignal = SIGTERM
    private var stopTimeout = 10
    private var logOptions = LogOptions()
    /// The container exists (a kept record of one that ended) and starts again in it.
    private var reopen = false
    /// The container's streams as contain-oci's `create` was given them, not relayed.
    private var handed: HandedStreams?
    /// contain-oci's `create` for an engine: the init is left to the engine once created
    /// (`release`), and waits on the record's start FIFO; no log, no attach socket.
    private var ownedByEngine = false
    private var status = ContainerStatus()
    private var progress: Progress { context.progress }
    private var timings: StartTimings { context.timings }

    private init(config: ContainerConfig, id: String, createOnly: Bool, interactive: Bool, context: RuntimeContext) throws {
        self.config = config
        self.interactive = interactive
        self.context = context
        self.id = id
        self.createOnly = createOnly
        let ownUTS = config.linux.namespaces.contains { $0.type == .uts && $0.path == nil }
        self.hostname = config.hostname ?? (ownUTS ? String(id.prefix(12)) : Hostname.current())
        self.rootfsDisplay = config.root.path
        self.limits = ResourceLimits(config.linux.resources)
        (self.cgroupParent, self.cgroupLeaf) = try config.cgroupPlacement(id: id)
        self.bridges = try BridgeAttachment.all(config.contain)
        self.networks = NetworkManager(store: NetworkStore(directory: context.networkDirectory))
    }

    // MARK: create

    /// config.json's hooks (none for contain's own containers).
    private var hooks: ContainerConfig.Hooks { config.hooks ?? ContainerConfig.Hooks() }
    /// The id an OCI client knows the container by (its name; a hex id is the record's).
    private var ociID: String { config.contain.name ?? id }

    /// Makes the container `config` describes up to the point where only exec is left. On
    /// failure everything made so far is undone before the error is thrown.
    /// `interactive` (`-i`): the caller's stdin is relayed to the container. `stopSignal` and
    /// `stopTimeout`: what `contain stop` does to it (kept in its record).
    public static func create(_ config: ContainerConfig, id: String, createOnly: Bool = false, reopen: Bool = false, interactive: Bool = false,
                              stopSignal: Int32 = SIGTERM, stopTimeout: Int = 10, logOptions: LogOptions = LogOptions(),
                              handed: HandedStreams? = nil, ownedByEngine: Bool = false, context: RuntimeContext) throws -> Container {
        guard geteuid() == 0 else { throw RunFailure.runtime("contain needs root privileges") }
        guard !config.process.args.isEmpty else { throw RunFailure.runtime("no command given: contain run --rootfs DIR -- CMD [ARGS...]") }
        let container = try Container(config: config, id: id, createOnly: createOnly, interactive: interactive, context: context)
        container.stopSignal = stopSignal
        container.stopTimeout = stopTimeout
        container.logOptions = logOptions
        container.reopen = reopen
        container.handed = handed
        container.ownedByEngine = ownedByEngine && createOnly
        do {
            try container.createSteps()
        } catch {
            for failure in container.delete(exitCode: nil) { Progress.error("cleaning up: \(failure)") }
            throw error
        }
        return container
    }

    private func createSteps() throws {
        let rootfs = try resolveRootfs()
        timings.mark("parse")
        let plan = try CgroupPlan(layout: try CgroupLayout.detect(), parent: cgroupParent, id: cgroupLeaf, limits: limits,
                                  devices: config.linux.deviceCgroupRules, everyHierarchy: config.contain.everyCgroupHierarchy)

        // The host paths resolved: the root, the sources of bind mounts, and the network
        // namespace of the container this one shares (`--net container:NAME`).
        config.root.path = rootfs
        config.mounts = try config.mounts.map(resolveMount)
        if case .container(let reference) = config.contain.networkMode {
            let (path, directory) = try Self.sharedNetwork(reference, stateRoot: context.stateRoot)
            config.linux.namespaces.removeAll { $0.type == .network }
            config.linux.namespaces.append(ContainerConfig.Linux.Namespace(type: .network, path: path))
            sharedNetworkRecord = directory
        }
        let contain = config.contain
        var info = ContainerInfo(id: id, name: contain.name, command: config.process.args, created: time(nil), rootfs: rootfs,
                                 network: contain.networkMode.description, keep: contain.detached && !contain.removeWhenDone)
        info.environment = config.process.env
        info.capabilities = config.process.capabilities?.effective ?? []
        info.seccomp = contain.seccompProfile
        info.privileged = contain.privileged
        info.labels = config.annotations.keys.sorted().map { $0 + "=" + config.annotations[$0]! }
        info.stopSignal = stopSignal
        info.stopTimeout = stopTimeout
        info.ownedByEngine = ownedByEngine
        // Recorded before anything is made: a runtime killed from here on leaves a record that
        // says what to reclaim.
        func makeRecord() throws -> ContainerRecord {
            reopen ? try ContainerRecord.reopen(stateRoot: context.stateRoot, id: id, cgroupDirectories: plan.containerDirectories)
                   : try ContainerRecord.create(stateRoot: context.stateRoot, info: info, cgroupDirectories: plan.containerDirectories,
                                                configuration: config, startFIFO: createOnly, generateName: contain.name == nil)
        }
        // What dead runtimes left is reclaimed while the init sets itself up (below), unless
        // it is in the way now: a name its record still holds. (A lease in the way is
        // reclaimed by the network's attach; cgroups and records are the container's own.)
        var reclaimed = false
        let record: ContainerRecord
        do {
            record = try makeRecord()
        } catch RunFailure.nameInUse {
            reclaimAbandoned()
            reclaimed = true
            record = try makeRecord()
        }
        self.record = record
        // `--log-opt` (docker's `local` driver's defaults without it).
        let detached = contain.detached && !ownedByEngine ? try detachStandardStreams(record.directory, logOptions: logOptions) : nil
        let overlay = contain.copyOnWrite ? try makeOverlayDirectories(record.directory, rootfs: rootfs) : nil
        let cgroup = ContainerCgroup(plan: plan)
        if try !cgroup.create().isEmpty {
            Progress.warning("this kernel has no swap accounting (memory.memsw.limit_in_bytes): memory is limited without swap")
        }
        self.cgroup = cgroup
        timings.mark("cgroup")

        // The filter compiled once per configuration, then loaded from the cache.
        let seccompProgram = try config.linux.seccomp.map {
            try SeccompProgram.compiled($0, stateRoot: context.stateRoot)
        }
        let signals = try SignalFD(signals: ContainerRunner.forwardedSignals + [SIGCHLD])
        self.signals = signals
        let channel = try SyncChannel.pair()
        let namespaces = Namespaces(config.linux.namespaces)
        progress.say("creating namespaces: \(namespaces.names.joined(separator: " "))")
        let streams = try StreamRelay(terminal: config.process.terminal, interactive: interactive, detached: detached,
                                      handed: handed)
        self.streams = streams
        // The name files are bound by the init as it builds its rootfs; a bridged container's
        // are filled in once its addresses are known (the same files, so the binds see them).
        let bindFiles = config.contain.nameFiles ? try writeNameFiles(record.directory, wired: bridges.isEmpty) : []
        // cgroup v1: the init moves itself (see InitPlan.joinCgroups), unless a runtime hook must
        // find it placed before it proceeds. (v1 is never born in its cgroup.)
        let runtimeHooks = !hooks.prestart.isEmpty || !hooks.createRuntime.isEmpty
        let initJoins = !plan.layout.isUnified && !runtimeHooks
        let configuration = { (pid: pid_t) in InitConfig(container: self.config, plan: InitPlan(
            rootfsDisplay: self.rootfsDisplay, newCgroupNamespace: namespaces.cgroup,
            mountCgroup2: namespaces.cgroup && plan.layout.isUnified, reportProgress: !self.progress.quiet || self.timings.enabled,
            networksFollow: !self.bridges.isEmpty, bindFiles: bindFiles, overlay: overlay, startAtOnce: !self.createOnly,
            seccompProgram: seccompProgram, cgroupV1Hierarchies: namespaces.cgroup ? plan.v1Hierarchies : [],
            startFIFO: self.ownedByEngine ? record.directory + "/start" : nil,
            hookStates: self.hooks.createContainer.isEmpty && self.hooks.startContainer.isEmpty ? []
                : ["creating", "created"].map { OCIHooks.state(self.config, id: self.ociID, status: $0, pid: pid) },
            joinCgroups: initJoins ? plan.containerDirectories : [])) }
        // Made before the clone unless a hook's state must name the init's pid: a forked init
        // takes it from memory.
        let needsPID = !hooks.createContainer.isEmpty || !hooks.startContainer.isEmpty
        // On cgroup v2 the init is born in its cgroup: no migration (the slow, RCU-bound step).
        let bornIn = plan.layout.isUnified && plan.containerDirectories.count == 1 ? plan.containerDirectories.first : nil
        let inherited = needsPID ? nil : configuration(0)
        let child = try ChildProcess.spawnInit(namespaces: namespaces, syncFD: channel.child.fd, sealedCopy: config.contain.runInit,
                                               streams: streams.childStreams, cgroupDirectory: bornIn, inherited: inherited)
        streams.childStarted()
        channel.child.close()
        self.child = child
        self.channel = channel.parent
        timings.mark("clone")
        // The init owns the container: its identity goes into the record and onto the lease.
        guard let initIdentity = ProcessIdentity.of(pid: child.pid) else {
            throw RunFailure.runtime("the container's init ended as it started")
        }
        status.pid = initIdentity
        record.writeStatus(status)
        // A re-executed init (--init) is sent the same configuration (made now if a hook needs the pid).
        let initConfig = inherited ?? configuration(child.pid)
        if !child.inheritedConfig { try channel.parent.send(.config(initConfig)) }
        progress.say(limits.isEmpty ? "joining cgroup: \(cgroupParent)/\(cgroupLeaf == id ? String(id.prefix(12)) : cgroupLeaf)"
                                    : "applying cgroup limits: \(limits.summary)")
        if !child.bornInCgroup && !initJoins { try cgroup.add(pid: child.pid) }
        // The init exists in its namespaces and cgroup, and nothing is set up: the runtime's hooks.
        if runtimeHooks {
            let state = OCIHooks.state(config, id: ociID, status: "creating", pid: child.pid)
            try OCIHooks.run(hooks.prestart, phase: "prestart", state: state)
            try OCIHooks.run(hooks.createRuntime, phase: "createRuntime", state: state)
        }
        // The init builds its rootfs and mounts while the networks are wired here.
        if initConfig.awaitsProceed(inherited: child.inheritedConfig, bornInCgroup: child.bornInCgroup) {
            try channel.parent.send(.proceed)
        }
        timings.mark("join")

        // Bridge networks: bridge, rules and lease, then the veth into the init's namespace,
        // while the init sets itself up; it waits for their addresses only after its mounts.
        var initNetworks: [InitNetwork] = []
        for (index, bridge) in bridges.enumerated() {
            // A generated name resolves as a given one does.
            var request = EndpointRequest(containerID: id, name: record.info.name, hostname: hostname, address: bridge.address,
                                          owner: initIdentity, ports: bridge.ports, aliases: bridge.aliases)
            request.index = index
            request.address6 = bridge.address6
            request.mac = bridge.mac
            let endpoint = try networks.attach(network: bridge.network, request)
            endpoints.append(endpoint)
            for warning in endpoint.warnings { Progress.warning(warning) }
            // After the lease, which names a container that already publishes the port; a host
            // service on it is found here (and the lease and rules go with the failed create).
            if !bridge.ports.isEmpty {
                let held = try PortReservations.reserve(bridge.ports)
                held.relayLoopback(to: endpoint.address6.map(IPAddress.v6) ?? .v4(endpoint.address))
                portReservations = held
            }
            timings.mark("network")
            let n = endpoint.network
            let v6 = endpoint.address6.flatMap { a in n.subnet6.map { " \(a)/\($0.prefix)" } } ?? ""
            progress.say("connecting to network \(n.name): \(endpoint.address)/\(n.subnet.prefix)\(v6) on \(n.bridge) (\(endpoint.hostInterface))")
            try networks.connect(endpoint, containerPID: child.pid)
            // `--impair`: before the command runs, as `net impair` would set it (its end, from
            // inside the namespace; refused in one line on a kernel without netem).
            if let impairment = bridge.impairment {
                progress.say("impairing \(endpoint.containerInterface): \(impairment)")
                try LinkImpairments.apply(impairment, direction: .egress, to: [LinkImpairments.Target(
                    container: id, pid: child.pid, network: n.name, hostInterface: endpoint.hostInterface,
                    containerInterface: endpoint.containerInterface)])
            }
            if !endpoint.ports.isEmpty {
                progress.say("publishing ports: " + endpoint.ports.map(\.description).joined(separator: " "))
            }
            timings.mark("veth")
            // Recorded with the next state: every address, the first network's first (IPv4, then
            // IPv6 on a dual-stack network).
            status.address = endpoints.flatMap { [$0.address.description] + ($0.address6.map { [$0.description] } ?? []) }
                .joined(separator: ",")
            var initNetwork = InitNetwork(interface: endpoint.containerInterface, address: endpoint.address.description,
                                          prefix: Int32(n.subnet.prefix), gateway: n.internal || index > 0 ? nil : n.gateway.description)
            if let address6 = endpoint.address6, let subnet6 = n.subnet6 {
                initNetwork.address6 = address6.description
                initNetwork.prefix6 = Int32(subnet6.prefix)
                initNetwork.gateway6 = n.internal || index > 0 ? nil : n.gateway6?.description
            }
            initNetworks.append(initNetwork)
        }
        // Its name server, before anything in it can ask: the leases are on file, so it
        // answers this container's names (and sees it as one that may ask) at once.
        if !bridges.isEmpty && (bridge?.dns ?? []).isEmpty {
            try NameServerProcess.ensure(directory: context.networkDirectory, networks: bridges.map(\.network))
            timings.mark("nameserver")
        }
        if !bridges.isEmpty {
            if config.contain.nameFiles { _ = try writeNameFiles(record.directory, wired: true) }
            do {
                try channel.parent.send(.networks(InitNetworks(initNetworks)))
            } catch let error as SystemError where error.errno == EPIPE || error.errno == ECONNRESET {
                // The init ended during its setup: awaitInit reads why.
            }
        }
        // On the second CPU, beside the init's setup: a scan of every record, so it grows with them.
        if !reclaimed { reclaimAbandoned() }
        try supervisor.awaitInit(child, channel: channel.parent, signals: signals, until: .ready, relay: streams)
        status.phase = .created
        // A run goes on to start at once, which records `running`: one state write less.
        if createOnly { record.writeStatus(status) }
    }

    /// /etc/hosts, /etc/hostname and /etc/resolv.conf, generated in the record and bound over
    /// the rootfs's (created in the copy-on-write layer when the rootfs has none), as docker
    /// and podman always provide them. A bridge network's hosts file lists the container's own
    /// names (the others' are its name server's); --net host gets the host's files.
    /// `wired`: a bridged container's networks are attached (its files can say its addresses);
    /// before that its hosts and resolv.conf are made empty, to be bound and filled in later.
    private func writeNameFiles(_ directory: String, wired: Bool = true) throws -> [BindFile] {
        let hosts = directory + "/hosts", resolv = directory + "/resolv.conf", hostnameFile = directory + "/hostname"
        let hostResolv = (try? Files.read("/etc/resolv.conf")) ?? ""
        let name = config.contain.name
        let search = config.contain.dnsSearch, options = config.contain.dnsOptions
        switch config.contain.networkMode {
        case .host:
            let own = (try? Files.read("/etc/hosts")) ?? ContainerFiles.hosts(hostname: hostname, name: name, address: nil)
            try Files.write(hosts, own + extraHosts.map { "\($0.address)\t\($0.name)\n" }.joined(), create: true)
            try Files.write(resolv, search.isEmpty && options.isEmpty ? hostResolv
                                : ContainerFiles.resolvConf(host: hostResolv, upstream: nil, dns: [], search: search, options: options),
                            create: true)
        case .none:
            try Files.write(hosts, ContainerFiles.hosts(hostname: hostname, name: name, address: nil, extra: extraHosts), create: true)
            try Files.write(resolv, ContainerFiles.resolvConf(host: hostResolv, upstream: nil, dns: [], search: search, options: options),
                            create: true)
        case .container:
            // The other container's own files: its names and resolvers are this one's.
            if let shared = sharedNetworkRecord, Files.exists(shared + "/hosts"), Files.exists(shared + "/resolv.conf") {
                try Files.write(hostnameFile, hostname + "\n", create: true)
                return [BindFile(source: shared + "/hosts", target: "/etc/hosts"), BindFile(source: hostnameFile, target: "/etc/hostname"),
                        BindFile(source: shared + "/resolv.conf", target: "/etc/resolv.conf")]
            }
            try Files.write(hosts, ContainerFiles.hosts(hostname: hostname, name: name, address: nil), create: true)
            try Files.write(resolv, hostResolv, create: true)
        case .bridge where !wired:
            try Files.write(hosts, "", create: true)
            try Files.write(resolv, "", create: true)
        case .bridge:
            // Its own names only: the others' are the name server's (on its first network's
            // gateway), which forwards the rest to the host's resolvers, unless --dns is given.
            let first = endpoints.first
            let extra = extraHosts.map { $0.address.value == 0 ? ContainerFiles.Peer(name: $0.name, address: first?.network.gateway ?? $0.address) : $0 }
            try Files.write(hosts, ContainerFiles.hosts(hostname: hostname, name: record?.info.name, address: first?.address, extra: extra),
                            create: true)
            let dns = bridge?.dns ?? []
            // Its first network's gateway, both addresses on a dual-stack one.
            let servers = dns.isEmpty ? (first.map { [$0.network.gateway.description] + ($0.network.gateway6.map { [$0.description] } ?? []) } ?? [])
                                      : dns.map(\.description)
            if dns.isEmpty, first?.network.internal == false, ContainerFiles.nameservers(hostResolv).isEmpty {
                Progress.warning("the host has no name server in /etc/resolv.conf: containers' names resolve, other names do not; "
                                 + "give resolvers with --dns")
            }
            try Files.write(resolv, ContainerFiles.resolvConf(host: hostResolv, servers: servers, search: search, options: options), create: true)
        }
        try Files.write(hostnameFile, hostname + "\n", create: true)
        return [BindFile(source: hosts, target: "/etc/hosts"), BindFile(source: hostnameFile, target: "/etc/hostname"),
                BindFile(source: resolv, target: "/etc/resolv.conf")]
    }

    // MARK: start

    /// Lets the init exec the command; returns once it runs. Throws 126/127 failures as the
    /// init reported them.
    public func start() throws {
        guard let child, let channel, let signals else { throw RunFailure.runtime("container \(id.prefix(12)) was not created") }
        // A run's init did not wait (its plan said start at once): it is exec'ing already.
        if createOnly { try channel.send(.start) }
        try supervisor.awaitInit(child, channel: channel, signals: signals, until: .exec, relay: streams)
        timings.mark("exec")
        status.phase = .running
        status.started = time(nil)
        record?.writeStatus(status)
        if !hooks.poststart.isEmpty {
            OCIHooks.runWarning(hooks.poststart, phase: "poststart", state: OCIHooks.state(config, id: ociID, status: "running", pid: child.pid))
        }
    }

    /// `contain create`'s supervisor: waits until `contain start` writes to the record's start
    /// FIFO (true), or the init ends or a terminating signal arrives first (false).
    public func awaitStartRequest() throws -> Bool {
        guard let child, let channel, let signals, let record else { return false }
        let fifo = try record.openStartFIFO()
        defer { fifo.close() }
        while true {
            // The channel's only event now is its end: the init died.
            let ready = try supervisor.poll([fifo.readFD, signals.fd, channel.fd])
            if ready.contains(fifo.readFD) { return true }
            if ready.contains(channel.fd) { return false }
            if ready.contains(signals.fd) {
                while let received = try signals.next() {
                    if received.signal == SIGCHLD { child.reapIfExited() }
                    else if ContainerRunner.abortingSignals.contains(received.signal) { return false }
                }
                if child.status != nil { return false }
            }
        }
    }

    /// contain-oci's `create`: the created container becomes the engine's (conmon's,
    /// containerd's shim's; its init is reparented to the engine, their subreaper, when this
    /// process exits). Nothing is killed or undone: `start` wakes the init through the
    /// record's start FIFO, and the engine's `delete` removes what is left.
    public func release() {
        child = nil
        channel?.close()
        channel = nil
        signals = nil
        streams = nil
        cgroup = nil
        record?.release()
        record = nil
    }

    // MARK: wait

    /// Forwards signals until the init ends, and returns how it ended.
    public func wait() throws -> WaitStatus {
        guard let child, let signals else { throw RunFailure.runtime("container \(id.prefix(12)) was not created") }
        return try supervisor.supervise(child, signals: signals, relay: streams)
    }

    /// The cgroup's counters; an OOM kill among them is kept in the record (inspect's OOMKilled).
    public func usage() -> CgroupUsage? {
        let usage = cgroup?.usage()
        if let usage, usage.oomKills > 0 { status.oomKilled = true }
        return usage
    }

    // MARK: delete

    /// Undoes what create made, in reverse order: the init (killed if still there), the network
    /// lease and port rules, the cgroups, then the record (kept with `exitCode` when the
    /// container is kept). Keeps going after an error; returns every failure.
    @discardableResult
    public func delete(exitCode: Int32?, error: String? = nil) -> [String] {
        var failures: [String] = []
        if let child, child.status == nil {
            // A paused container's init ignores SIGKILL on cgroup v1 until it is thawed.
            child.kill(SIGKILL)
            if let cgroup, let record, Files.exists(record.directory + "/" + ContainerRecord.pausedMarker) {
                try? Freezer.find(in: cgroup.plan.containerDirectories)?.thaw()
            }
        }
        child?.killAndReap()
        child = nil
        streams?.restore()
        streams = nil
        channel?.close()
        channel = nil
        portReservations?.release()
        portReservations = nil
        // With the networks joined while it ran (`net connect`), whose leases it owns too.
        if !endpoints.isEmpty, let joined = try? networks.endpoints(of: id) {
            endpoints += joined.filter { j in !endpoints.contains { $0.network.name == j.network.name } }
        }
        for endpoint in endpoints.reversed() {
            progress.say("leaving network \(endpoint.network.name)")
            failures += networks.detach(endpoint).map { "leaving network \(endpoint.network.name): \($0)" }
        }
        endpoints = []
        if let cgroup {
            progress.say("cleaning up cgroups")
            do { try cgroup.destroy() } catch { failures.append("cleaning up cgroups: \(error)") }
            self.cgroup = nil
        }
        if let record {
            status.error = error
            if let failure = record.finish(exitCode: exitCode, status: status) { failures.append(failure) }
            self.record = nil
            if !hooks.poststop.isEmpty {
                OCIHooks.runWarning(hooks.poststop, phase: "poststop", state: OCIHooks.state(config, id: ociID, status: "stopped", pid: 0))
            }
        }
        return failures
    }

    /// What every command does first: reclaims containers that ended with nobody to clean up
    /// (no supervisor, init gone), their cgroups and records, and then their leases and port
    /// rules (reading the networks drops leases whose owner is dead). Returns the ids.
    @discardableResult
    private func reclaimAbandoned() {
        Self.reclaimAbandoned(stateRoot: context.stateRoot, networkDirectory: context.networkDirectory, report: progress.say)
        timings.mark("reclaim")
    }

    public static func reclaimAbandoned(stateRoot: String, networkDirectory: String,
                                        report: (String) -> Void = { _ in }) -> [String] {
        let reclaimed = ContainerRecord.reclaimAbandonedContainers(stateRoot: stateRoot, report: report)
        if reclaimed.contains(where: isBridged) {
            do { _ = try NetworkManager(store: NetworkStore(directory: networkDirectory)).status() } catch {
                report("could not reclaim network leases: \(error)")
            }
        }
        return reclaimed.map(\.info.id)
    }

    /// `contain rm` of a container that has ended: its record, and what a container that ended
    /// unsupervised left (cgroups; its lease and port rules, whose owner, the init, is gone).
    public static func remove(_ view: ContainerView, stateRoot: String, networkDirectory: String) throws {
        try ContainerRecord.removeEnded(view, stateRoot: stateRoot)
        if view.state == .dead, isBridged(view) {
            // Reading the networks reclaims leases of dead owners.
            _ = try NetworkManager(store: NetworkStore(directory: networkDirectory)).status()
        }
    }

    /// Whether the container had a bridge network (so a lease, perhaps port rules).
    private static func isBridged(_ view: ContainerView) -> Bool {
        if case .bridge? = try? NetworkMode(parsing: view.info.network) { return true }
        return false
    }

    // MARK: helpers

    private var supervisor: ChildSupervisor { ChildSupervisor(progress: progress, timings: timings) }

    /// A detached container's stdout and stderr go through pipes into its record's log, which
    /// `logs` reads (StreamRelay, ContainerLogWriter), and to the clients of its attach socket,
    /// which may feed its terminal or (`-i`) its stdin (AttachServer). The supervisor's own
    /// stdout and stderr (a crash message) go to the record's `runtime.log`, never to the pipe
    /// `run -d` reads until the start: once it has returned, a write there would raise SIGPIPE.
    private func detachStandardStreams(_ directory: String, logOptions: LogOptions) throws -> DetachedStreams {
        let path = directory + "/runtime.log"
        let fd = try sys("open", path: path) { open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600) }
        defer { close(fd) }
        try sys("dup2") { dup2(fd, 1) }
        try sys("dup2") { dup2(fd, 2) }
        return DetachedStreams(log: try ContainerLogWriter(directory: directory, options: logOptions),
                               attach: try AttachServer(directory: directory, hello: AttachHello(tty: config.process.terminal, stdinOpen: interactive)))
    }

    /// `--net container:NAME`: the network namespace of that container's init (which must be
    /// running), as a path the init joins, and its record. The init's identity is checked
    /// again right after the path is made, so a reused pid is not taken for it.
    static func sharedNetwork(_ reference: String, stateRoot: String) throws -> (path: String, record: String) {
        let view = try ContainerRecord.find(stateRoot: stateRoot, reference)
        guard view.isRunning, let identity = view.status.pid else {
            throw RunFailure.runtime("--net container:\(reference): container \(view.displayName) is not running")
        }
        let path = "/proc/\(identity.pid)/ns/net"
        guard identity.isAlive, Files.exists(path) else {
            throw RunFailure.runtime("--net container:\(reference): container \(view.displayName) ended")
        }
        return (path, view.directory)
    }

    /// The copy-on-write layer lives in the container's record and goes with it.
    private func makeOverlayDirectories(_ directory: String, rootfs: String) throws -> OverlayDirectories {
        guard !rootfs.contains(","), !rootfs.contains(":") else {
            throw RunFailure.runtime("rootfs `\(rootfsDisplay)`: a path with `,` or `:` cannot be an overlay layer; use --rootfs-rw")
        }
        let dirs = OverlayDirectories(upper: directory + "/upper", work: directory + "/work", merged: directory + "/merged")
        // A restarted container keeps its layer, as docker's does.
        for dir in [dirs.upper, dirs.work, dirs.merged] { try Files.makeDirectory(dir, mode: 0o755, existingOK: reopen) }
        return dirs
    }

    /// A bind mount's source must exist on the host; it is taken as its canonical path. A named
    /// volume's is its directory, made on first use.
    private func resolveMount(_ mount: ContainerConfig.Mount) throws -> ContainerConfig.Mount {
        guard mount.type != "tmpfs", let source = mount.source else { return mount }
        if mount.type == "volume" {
            var resolved = mount
            resolved.source = source.hasPrefix("/") ? source : try VolumeStore(directory: context.volumeDirectory).create(source).mountpoint
            return resolved
        }
        guard Files.exists(source) else {
            throw RunFailure.runtime("volume `\(source):\(mount.destination)`: the host path `\(source)` does not exist")
        }
        var resolved = mount
        resolved.source = try Files.realPath(source)
        return resolved
    }

    private func resolveRootfs() throws -> String {
        let path = rootfsDisplay
        guard Files.exists(path) else { throw SystemError("rootfs", path: path, errno: ENOENT) }
        if TarballRootfs.isTarball(path) {
            guard config.contain.copyOnWrite else {
                throw RunFailure.runtime("--rootfs-rw needs a directory: an unpacked tarball is shared by every container started from it")
            }
            return try TarballRootfs.prepare(try Files.realPath(path), cache: context.imageCache, progress: progress, display: path)
        }
        guard Files.isDirectory(path) else { throw SystemError("rootfs", path: path, errno: ENOTDIR) }
        let resolved = try Files.realPath(path)
        guard resolved != "/" else { throw RunFailure.runtime("rootfs `\(path)`: the host's root cannot be a container's rootfs") }
        return resolved
    }
}

/// The namespaces the init is cloned into, from the configuration's list. The cgroup namespace
/// is entered by the init itself once it is inside its cgroup, so that cgroup becomes the
/// namespace's root (and only where the kernel has cgroup namespaces).
/// Without `pid`, `uts` or `ipc` in the list (`--pid host` ...) the init stays in the host's.
/// A mount namespace is always new: the container's root is built in it.
struct Namespaces {
    let pid: Bool
    let uts: Bool
    let ipc: Bool
    let network: Bool
    let cgroup: Bool

    init(_ namespaces: [ContainerConfig.Linux.Namespace]) {
        func wanted(_ type: ContainerConfig.Linux.NamespaceType) -> Bool { namespaces.contains { $0.type == type && $0.path == nil } }
        pid = wanted(.pid)
        uts = wanted(.uts)
        ipc = wanted(.ipc)
        network = wanted(.network)
        cgroup = wanted(.cgroup) && Files.exists("/proc/self/ns/cgroup")
    }

    var cloneFlags: Int32 {
        var flags = CLONE_NEWNS
        if pid { flags |= CLONE_NEWPID }
        if uts { flags |= CLONE_NEWUTS }
        if ipc { flags |= CLONE_NEWIPC }
        if network { flags |= CLONE_NEWNET }
        return Int32(flags)
    }

    var names: [String] {
        (pid ? ["pid"] : []) + (uts ? ["uts"] : []) + ["mnt"] + (ipc ? ["ipc"] : []) + (network ? ["net"] : []) + (cgroup ? ["cgroup"] : [])
    }
}
