import ContainNetwork
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

extension ContainerConfig {
    /// Namespaces every contain container gets; a network namespace is added when the
    /// network mode owns one. Whether the kernel has cgroup namespaces is the runtime's check.
    public static let defaultNamespaces: [Linux.NamespaceType] = [.pid, .ipc, .uts, .mount, .cgroup]

    /// What `contain run` was asked to do, as a container configuration.
    ///
    /// - Parameters:
    ///   - id: the container's id: its cgroup is `<cgroupParent>/<id>`, and without `--hostname`
    ///     its hostname is the id's first 12 characters.
    ///   - rootfs: the root as resolved on the host (canonical path, or an unpacked tarball);
    ///     nil: the argument as the user gave it.
    ///   - term: the caller's `TERM`, passed on to the command's environment.
    public init(spec: ContainerSpec, id: String, rootfs: String? = nil, term: String? = nil) {
        // `--uts host`: the host's name, which the container must not set.
        let utsHost = spec.hostNamespaces.contains(.uts)
        let hostname = utsHost ? Hostname.current() : spec.hostname ?? String(id.prefix(12))
        var user = Process.User()
        if let requested = spec.user {
            // Only a fully numeric UID:GID is known now; anything else is looked up in the
            // container's passwd and group files (a bare UID takes its group from there).
            if let uid = UInt32(requested.user), let group = requested.group, let gid = UInt32(group) {
                user.uid = uid
                user.gid = gid
            } else {
                user.username = requested.user
                user.groupname = requested.group
            }
        }
        for group in spec.groupAdd {
            if let gid = UInt32(group) { user.additionalGids.append(gid) } else { user.additionalGroupNames.append(group) }
        }
        var namespaces = Self.defaultNamespaces.filter { !spec.hostNamespaces.contains($0) }.map { Linux.Namespace(type: $0) }
        var sysctl = spec.sysctls
        if spec.network.ownsNamespace {
            namespaces.append(Linux.Namespace(type: .network))
            for (key, value) in Sysctls.networkDefaults where sysctl[key] == nil { sysctl[key] = value }
        }
        var attachments: [NetworkAttachment] = []
        if case .bridge(let network) = spec.network {
            attachments.append(NetworkAttachment(network: network, address: spec.address?.description,
                                                 ports: spec.ports.map(\.description), dns: spec.dns.map(\.description),
                                                 aliases: spec.aliases, address6: spec.address6?.description,
                                                 mac: spec.macAddress.map(MACAddress.text), impair: spec.impairment?.specification))
            attachments += spec.moreNetworks
        }
        let security = spec.security
        let caps = security.capabilities
        var devices: [Linux.Device] = []
        var deviceRules = security.privileged ? [Linux.DeviceRule(allow: true, type: "a", access: "rwm")] : DeviceRules.dockerDefault
        for device in security.devices {
            devices.append(Linux.Device(path: device.containerPath, type: device.type, major: device.major, minor: device.minor,
                                        fileMode: device.mode, uid: 0, gid: 0))
            if !security.privileged {
                deviceRules.append(Linux.DeviceRule(allow: true, type: device.type, major: device.major, minor: device.minor,
                                                    access: device.access))
            }
        }
        self.init(
            process: Process(terminal: spec.tty, user: user, args: spec.command,
                             env: spec.defaultEnvironment(hostname: hostname, term: term), cwd: spec.workdir ?? "/",
                             capabilities: Process.Capabilities(bounding: caps, effective: caps, inheritable: [], permitted: caps, ambient: []),
                             rlimits: spec.ulimits, noNewPrivileges: security.noNewPrivileges, oomScoreAdj: spec.oomScoreAdj),
            root: Root(path: rootfs ?? spec.rootfsArgument, readonly: spec.readOnlyRoot),
            hostname: utsHost ? nil : hostname,
            mounts: spec.volumes.map { volume in
                Mount(destination: volume.target, type: volume.named ? "volume" : "bind", source: volume.source,
                      options: volume.readOnly ? ["rbind", "ro"] : ["rbind"])
            } + spec.tmpfs.map { Mount(destination: $0.target, type: "tmpfs", source: "tmpfs", options: $0.options) },
            annotations: Dictionary(spec.labels.map { label in
                let parts = label.split(separator: "=", maxSplits: 1).map(String.init)
                return (parts[0], parts.count == 2 ? parts[1] : "")
            }, uniquingKeysWith: { _, last in last }),
            linux: Linux(namespaces: namespaces, resources: Linux.Resources(limits: spec.limits),
                         cgroupsPath: spec.cgroupParent + "/" + id, devices: devices, deviceCgroupRules: deviceRules,
                         maskedPaths: security.privileged ? [] : MaskedPaths.dockerMasked,
                         readonlyPaths: security.privileged ? [] : MaskedPaths.dockerReadOnly,
                         seccomp: security.seccompFilter, sysctl: sysctl),
            contain: ContainExtensions(networkMode: spec.network, networkAttachments: attachments, name: spec.name,
                                       runInit: spec.runInit, copyOnWrite: !spec.writableRootfs, detached: spec.detached,
                                       removeWhenDone: spec.removeWhenDone, privileged: security.privileged,
                                       seccompProfile: security.seccompDescription, shmSize: spec.shmSize?.bytes,
                                       interactive: spec.interactive,
                                       restartPolicy: spec.restartPolicy == .no ? nil : spec.restartPolicy.description,
                                       // Only what differs from the defaults (the runner's).
                                       logMaxSize: spec.logOptions.maxSize == LogOptions.defaultMaxSize ? nil : spec.logOptions.maxSize,
                                       logMaxFiles: spec.logOptions.maxFiles == LogOptions.defaultMaxFiles ? nil : Int32(clamping: spec.logOptions.maxFiles),
                                       stopSignal: spec.stopSignal == SIGTERM ? nil : spec.stopSignal,
                                       stopTimeout: spec.stopTimeout == 10 ? nil : Int32(clamping: spec.stopTimeout),
                                       extraHosts: spec.extraHosts, dnsSearch: spec.dnsSearch, dnsOptions: spec.dnsOptions))
    }
}

extension ContainerConfig.Linux.Resources {
    /// `--memory`, `--memory-swap`, `--memory-reservation`, `--cpu`/`--cpus` (a quota per
    /// 100 ms period), `--cpu-shares`, `--cpuset-*`, `--pids`; nil when none is set.
    public init?(limits: ResourceLimits) {
        guard !limits.isEmpty else { return nil }
        var memory: Memory?
        if limits.memory != nil || limits.memorySwap != nil || limits.memoryReservation != nil {
            var swap: Int64?
            switch limits.memorySwap {
            case .total(let size)?: swap = Int64(clamping: size.bytes)
            case .unlimited?: swap = -1
            case nil: swap = nil
            }
            memory = Memory(limit: limits.memory.map { Int64(clamping: $0.bytes) }, swap: swap,
                            reservation: limits.memoryReservation.map { Int64(clamping: $0.bytes) })
        }
        var cpu: CPU?
        if limits.cpu != nil || limits.cpuShares != nil || limits.cpusetCPUs != nil || limits.cpusetMems != nil {
            cpu = CPU(quota: limits.cpu.map { Int64($0.quota) }, period: limits.cpu.map { UInt64($0.period) },
                      shares: limits.cpuShares, cpus: limits.cpusetCPUs, mems: limits.cpusetMems)
        }
        self.init(memory: memory, cpu: cpu, pids: limits.pids.map { Pids(limit: Int64($0) ) })
    }
}

// MARK: - What the runtime reads back from the configuration

extension ResourceLimits {
    /// The limits of `linux.resources` in the form the cgroup plan takes (a CPU quota per
    /// 100 ms period: another period is scaled to it).
    public init(_ resources: ContainerConfig.Linux.Resources?) {
        self.init()
        if let limit = resources?.memory?.limit, limit > 0 { memory = ByteSize(bytes: UInt64(limit)) }
        if let cpu = resources?.cpu, let quota = cpu.quota, quota > 0 {
            let period = Int64(cpu.period ?? UInt64(CPUQuota.period))
            do {
                let scaled = period == Int64(CPUQuota.period) ? quota : quota * Int64(CPUQuota.period) / max(period, 1)
                self.cpu = CPUQuota(quota: Int(max(scaled, Int64(CPUQuota.minimumQuota))))
            }
        }
        if let limit = resources?.pids?.limit, limit > 0 { pids = Int(limit) }
        hugepages = resources?.hugepageLimits ?? []
        if let swap = resources?.memory?.swap {
            memorySwap = swap < 0 ? .unlimited : .total(ByteSize(bytes: UInt64(swap)))
        }
        if let reservation = resources?.memory?.reservation, reservation > 0 { memoryReservation = ByteSize(bytes: UInt64(reservation)) }
        if let shares = resources?.cpu?.shares, shares > 0 { cpuShares = min(max(shares, 2), 262_144) }
        cpusetCPUs = resources?.cpu?.cpus
        cpusetMems = resources?.cpu?.mems
    }
}

extension ContainerConfig {
    /// `linux.cgroupsPath` is `<parent>/<leaf>`, under each hierarchy's root: the parent (made
    /// when missing, left when others use it) and the container's own directory, named by the
    /// client (podman's `libpod-ID`) or by contain (`<id>`); `contain/<id>` without one.
    func cgroupPlacement(id: String) throws -> (parent: String, leaf: String) {
        guard let path = linux.cgroupsPath else { return ("contain", id) }
        let parts = path.splitASCII("/")
        guard parts.count >= 2, let leaf = parts.last, !leaf.hasPrefix("."), !parts.contains("..") else {
            throw SpecError("linux.cgroupsPath `\(path)`: expected PARENT/NAME")
        }
        // What comes before the leaf, normalized by validateCgroupParent.
        return (try ContainerSpec.validateCgroupParent(String(path[..<leaf.startIndex])), String(leaf))
    }
}

/// A bridge network attachment as the network manager takes it, parsed from the
/// configuration's strings once.
struct BridgeAttachment {
    let network: String
    let address: IPv4Address?
    let address6: IPv6Address?
    let mac: [UInt8]?
    let impairment: Impairment?
    let ports: [PortMapping]
    let dns: [IPv4Address]
    let aliases: [String]

    /// nil unless the network mode is a bridge network.
    init?(_ contain: ContainerConfig.ContainExtensions) throws {
        guard case .bridge(let network) = contain.networkMode else { return nil }
        try self.init(network: network, attachment: contain.networkAttachments.first { $0.network == network })
    }

    /// Every bridge network of the container, in order: the network mode's first (`eth0`, the
    /// default route), then the other attachments (`--net a --net b`: `eth1` ...).
    static func all(_ contain: ContainerConfig.ContainExtensions) throws -> [BridgeAttachment] {
        guard let first = try BridgeAttachment(contain) else { return [] }
        return [first] + (try contain.networkAttachments.filter { $0.network != first.network }.map {
            try BridgeAttachment(network: $0.network, attachment: $0)
        })
    }

    private init(network: String, attachment: ContainerConfig.NetworkAttachment?) throws {
        self.network = network
        address = try attachment?.address.map { text throws(SpecError) in
            guard let address = IPv4Address(text) else { throw SpecError("invalid address `\(text)`: expected an IPv4 address") }
            return address
        }
        aliases = attachment?.aliases ?? []
        mac = try attachment?.mac.map { text throws(NetworkError) in try MACAddress.validateForInterface(text) }
        impairment = try attachment?.impair.map { text throws(NetworkError) in try Impairment(parsing: text) }
        address6 = try attachment?.address6.map { text throws(SpecError) in
            guard let address = IPv6Address(text) else { throw SpecError("invalid address `\(text)`: expected an IPv6 address") }
            return address
        }
        ports = try (attachment?.ports ?? []).map { text throws(NetworkError) in try PortMapping(parsing: text) }
        dns = try (attachment?.dns ?? []).map { text throws(SpecError) in
            guard let address = IPv4Address(text) else { throw SpecError("invalid --dns `\(text)`: expected an IPv4 address") }
            return address
        }
    }
}
