import ContainNetwork
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain run`'s options as plain values, validated into a ContainerSpec and run.
///
/// Two parsers produce them. RunCommand (swift-argument-parser) gives help, usage and every
/// error message. `RunOptions.fast` handles the common, well-formed command line without it:
/// argument parsing by reflection costs about 2 ms of a 12 ms start (measured with --timings),
/// so the start path skips it. Anything the fast parser is not sure of (help, an unknown or
/// malformed option, a missing `--`) goes to RunCommand. A unit test holds the two to the same
/// answers.
struct RunOptions: Equatable {
    var rootfs: String
    var memory: String?
    var cpu: String?
    var cpus: String?
    var pids: String?
    var hostname: String?
    var net = "none"
    var name: String?
    var ip: String?
    var dns: [String] = []
    var publish: [String] = []
    var cgroupParent = Self.defaultCgroupParent
    var root: String?
    var env: [String] = []
    var envFile: [String] = []
    var volume: [String] = []
    var workdir: String?
    var user: String?
    var runInit = false
    var readOnly = false
    var rootfsRW = false
    var detach = false
    var removeWhenDone = false
    /// Internal: set on the supervisor that `run -d` starts, with the id it chose.
    var superviseID: String?
    /// `contain create`: the supervisor stops after create until `contain start`.
    var createOnly = false
    var capAdd: [String] = []
    var capDrop: [String] = []
    var privileged = false
    var securityOpt: [String] = []
    var device: [String] = []
    var tty = false
    var interactive = false
    var tmpfs: [String] = []
    var ulimit: [String] = []
    var label: [String] = []
    var stopSignal: String?
    var stopTimeout: String?
    var quiet = false
    var timings = false
    var command: [String] = []
    var memorySwap: String?
    var memoryReservation: String?
    var cpuShares: String?
    var cpusetCPUs: String?
    var cpusetMems: String?
    var sysctl: [String] = []
    var shmSize: String?
    var oomScoreAdj: String?
    var groupAdd: [String] = []
    var entrypoint: String?
    var pid: String?
    var ipc: String?
    var uts: String?
    var mount: [String] = []
    /// `--net` given again: the container's other networks (`eth1` ...).
    var moreNets: [String] = []
    var logOpt: [String] = []
    var restart: String?
    var addHost: [String] = []
    var dnsSearch: [String] = []
    var dnsOption: [String] = []
    var networkAlias: [String] = []
    var ip6: String?
    var macAddress: String?
    var impair: String?

    /// `--cgroup-parent`'s default: CONTAIN_CGROUP_PARENT, else `contain`.
    static var defaultCgroupParent: String {
        getenv("CONTAIN_CGROUP_PARENT").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "contain"
    }

    /// The option at `i` of a fast-parsed command line (`--opt=value`, or `--opt value`,
    /// `-o value`) as key and value, `i` left on the last word it used; nil when it has no
    /// value the fast parser can be sure of (a next word that looks like an option is a value
    /// only for the keys `dashValue` accepts). Shared by `run` and `exec` (ExecOptions).
    static func keyValue(_ arguments: [String], _ i: inout Int, dashValue: (String) -> Bool = { _ in false }) -> (key: String, value: String)? {
        let argument = arguments[i]
        if argument.hasPrefix("--"), let eq = argument.firstIndex(of: "=") {
            return (String(argument[..<eq]), String(argument[argument.index(after: eq)...]))
        }
        guard i + 1 < arguments.count, dashValue(argument) || !arguments[i + 1].hasPrefix("-") else { return nil }
        i += 1
        return (argument, arguments[i])
    }

    /// Parses `ARGS` of `contain run ARGS`, or returns nil to leave it to RunCommand.
    static func fast(_ arguments: [String]) -> RunOptions? {
        var options = RunOptions(rootfs: "")
        var rootfs: String?
        var netGiven = false
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            if argument == "--" {
                options.command = Array(arguments[(i + 1)...])
                guard let rootfs, !options.command.isEmpty else { return nil }
                options.rootfs = rootfs
                return options
            }
            if !argument.hasPrefix("-") {
                // As docker stops at the image: the first word that is not an option starts the command.
                options.command = Array(arguments[i...])
                guard let rootfs else { return nil }
                options.rootfs = rootfs
                return options
            }
            if argument == "-q" || argument == "--quiet" { options.quiet = true; i += 1; continue }
            if argument == "--timings" { options.timings = true; i += 1; continue }
            if argument == "--init" { options.runInit = true; i += 1; continue }
            if argument == "--read-only" { options.readOnly = true; i += 1; continue }
            if argument == "--rootfs-rw" { options.rootfsRW = true; i += 1; continue }
            if argument == "-d" || argument == "--detach" { options.detach = true; i += 1; continue }
            if argument == "--rm" { options.removeWhenDone = true; i += 1; continue }
            if argument == "--create-only" { options.createOnly = true; i += 1; continue }
            if argument == "--privileged" { options.privileged = true; i += 1; continue }
            if argument == "-t" || argument == "--tty" { options.tty = true; i += 1; continue }
            if argument == "-i" || argument == "--interactive" { options.interactive = true; i += 1; continue }
            if argument == "-it" || argument == "-ti" { options.tty = true; options.interactive = true; i += 1; continue }
            // Only these take a value that looks like an option (`--memory -1` is a bad size,
            // `--memory-swap -1` unlimited swap, `--oom-score-adj -500` a lower score).
            guard let (key, value) = Self.keyValue(arguments, &i, dashValue: { ["--memory", "--memory-swap", "--oom-score-adj"].contains($0) })
            else { return nil }
            switch key {
            case "--rootfs": rootfs = value
            case "--memory": options.memory = value
            case "--cpu": options.cpu = value
            case "--cpus": options.cpus = value
            case "--pids": options.pids = value
            case "--hostname": options.hostname = value
            case "--net", "--network":
                if netGiven { options.moreNets.append(value) } else { options.net = value; netGiven = true }
            case "--name": options.name = value
            case "--ip": options.ip = value
            case "--dns": options.dns.append(value)
            case "-p", "--publish": options.publish.append(value)
            case "--cgroup-parent": options.cgroupParent = value
            case "--root": options.root = value
            case "-e", "--env": options.env.append(value)
            case "--env-file": options.envFile.append(value)
            case "-v", "--volume": options.volume.append(value)
            case "-w", "--workdir": options.workdir = value
            case "-u", "--user": options.user = value
            case "--supervise-id": options.superviseID = value
            case "--cap-add": options.capAdd.append(value)
            case "--cap-drop": options.capDrop.append(value)
            case "--security-opt": options.securityOpt.append(value)
            case "--device": options.device.append(value)
            case "--tmpfs": options.tmpfs.append(value)
            case "--ulimit": options.ulimit.append(value)
            case "-l", "--label": options.label.append(value)
            case "--stop-signal": options.stopSignal = value
            case "--stop-timeout": options.stopTimeout = value
            case "--memory-swap": options.memorySwap = value
            case "--memory-reservation": options.memoryReservation = value
            case "-c", "--cpu-shares": options.cpuShares = value
            case "--cpuset-cpus": options.cpusetCPUs = value
            case "--cpuset-mems": options.cpusetMems = value
            case "--sysctl": options.sysctl.append(value)
            case "--shm-size": options.shmSize = value
            case "--oom-score-adj": options.oomScoreAdj = value
            case "--group-add": options.groupAdd.append(value)
            case "--entrypoint": options.entrypoint = value
            case "--pid": options.pid = value
            case "--ipc": options.ipc = value
            case "--uts": options.uts = value
            case "--mount": options.mount.append(value)
            case "--log-opt": options.logOpt.append(value)
            case "--restart": options.restart = value
            case "--add-host": options.addHost.append(value)
            case "--dns-search": options.dnsSearch.append(value)
            case "--dns-option", "--dns-opt": options.dnsOption.append(value)
            case "--network-alias": options.networkAlias.append(value)
            case "--ip6": options.ip6 = value
            case "--mac-address": options.macAddress = value
            case "--impair": options.impair = value
            default: return nil
            }
            i += 1
        }
        return nil
    }

    /// The same options as a `contain run` command line (what the detached supervisor gets).
    var arguments: [String] {
        var a = ["--rootfs", rootfs]
        func add(_ flag: String, _ value: String?) { if let value { a += [flag, value] } }
        add("--memory", memory); add("--cpu", cpu); add("--cpus", cpus); add("--pids", pids); add("--hostname", hostname)
        a += ["--net", net]
        for n in moreNets { a += ["--net", n] }
        add("--name", name); add("--ip", ip)
        for d in dns { a += ["--dns", d] }
        for p in publish { a += ["--publish", p] }
        a += ["--cgroup-parent", cgroupParent]
        add("--root", root)
        for e in env { a += ["--env", e] }
        for f in envFile { a += ["--env-file", f] }
        for v in volume { a += ["--volume", v] }
        add("--workdir", workdir); add("--user", user)
        if runInit { a.append("--init") }
        if readOnly { a.append("--read-only") }
        if rootfsRW { a.append("--rootfs-rw") }
        if detach { a.append("--detach") }
        if removeWhenDone { a.append("--rm") }
        add("--supervise-id", superviseID)
        if createOnly { a.append("--create-only") }
        for c in capAdd { a += ["--cap-add", c] }
        for c in capDrop { a += ["--cap-drop", c] }
        if privileged { a.append("--privileged") }
        for o in securityOpt { a += ["--security-opt", o] }
        for d in device { a += ["--device", d] }
        for t in tmpfs { a += ["--tmpfs", t] }
        for u in ulimit { a += ["--ulimit", u] }
        for l in label { a += ["--label", l] }
        add("--stop-signal", stopSignal); add("--stop-timeout", stopTimeout)
        if tty { a.append("--tty") }
        if interactive { a.append("--interactive") }
        if quiet { a.append("--quiet") }
        if timings { a.append("--timings") }
        add("--memory-swap", memorySwap); add("--memory-reservation", memoryReservation); add("--cpu-shares", cpuShares)
        add("--cpuset-cpus", cpusetCPUs); add("--cpuset-mems", cpusetMems)
        for s in sysctl { a += ["--sysctl", s] }
        add("--shm-size", shmSize); add("--oom-score-adj", oomScoreAdj)
        for g in groupAdd { a += ["--group-add", g] }
        add("--entrypoint", entrypoint); add("--pid", pid); add("--ipc", ipc); add("--uts", uts)
        for m in mount { a += ["--mount", m] }
        for o in logOpt { a += ["--log-opt", o] }
        add("--restart", restart)
        for h in addHost { a += ["--add-host", h] }
        for d in dnsSearch { a += ["--dns-search", d] }
        for o in dnsOption { a += ["--dns-option", o] }
        for n in networkAlias { a += ["--network-alias", n] }
        add("--ip6", ip6)
        add("--mac-address", macAddress)
        add("--impair", impair)
        return a + ["--"] + command
    }

    /// Validates, runs the container, and returns contain's exit status.
    func run() throws -> Int32 {
        if (detach || createOnly) && superviseID == nil {
            return try DetachedSupervisor.start { id in
                var supervisor = self
                supervisor.superviseID = id
                return supervisor.arguments
            }
        }
        var limits = ResourceLimits()
        if let memory { limits.memory = try ResourceLimits.memory(memory) }
        if cpu != nil && cpus != nil { throw SpecError("--cpu and --cpus set the same limit: give one of them") }
        if let cpu { limits.cpu = try CPUQuota(quotaText: cpu) }
        if let cpus { limits.cpu = try CPUQuota(cpusText: cpus, availableCPUs: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
        if let pids { limits.pids = try ResourceLimits.pids(pids) }
        if let memorySwap { limits.memorySwap = try ResourceLimits.memorySwap(memorySwap, memory: limits.memory) }
        if let memoryReservation { limits.memoryReservation = try ResourceLimits.memoryReservation(memoryReservation, memory: limits.memory) }
        if let cpuShares { limits.cpuShares = try ResourceLimits.cpuShares(cpuShares) }
        let onlineCPUs = Int(sysconf(Int32(_SC_NPROCESSORS_CONF)))
        if let cpusetCPUs { limits.cpusetCPUs = try ResourceLimits.cpuset(cpusetCPUs, flag: "--cpuset-cpus", available: onlineCPUs) }
        if let cpusetMems { limits.cpusetMems = try ResourceLimits.cpuset(cpusetMems, flag: "--cpuset-mems", available: 64) }
        var hostNamespaces = Set<ContainerConfig.Linux.NamespaceType>()
        for (flag, value, type) in [("--pid", pid, ContainerConfig.Linux.NamespaceType.pid), ("--ipc", ipc, .ipc), ("--uts", uts, .uts)] {
            guard let value else { continue }
            switch value {
            case "host": hostNamespaces.insert(type)
            case "private", "": break
            default: throw SpecError("invalid \(flag) `\(value)`: expected host or private (sharing another container's namespace is not supported yet)")
            }
        }
        if hostNamespaces.contains(.uts) && hostname != nil {
            throw SpecError("--hostname and --uts host conflict: the container has the host's name")
        }

        // `--net NAME:ip=ADDR,ip6=ADDR,alias=A`: a bridge network with its own options
        // (container:NAME aside).
        typealias NetworkOption = (name: String, address: IPv4Address?, address6: IPv6Address?, aliases: [String])
        func networkOption(_ text: String) throws -> NetworkOption {
            guard !text.hasPrefix("container:"), let colon = text.firstIndex(of: ":") else { return (text, nil, nil, []) }
            var option: NetworkOption = (String(text[..<colon]), nil, nil, [])
            for item in text[text.index(after: colon)...].split(separator: ",") {
                let kv = item.split(separator: "=", maxSplits: 1).map(String.init)
                switch (kv.first, kv.count == 2 ? kv[1] : nil) {
                case ("alias"?, let value?): option.aliases.append(try ContainerSpec.validateAlias(value, flag: "--net \(text): alias"))
                case ("ip"?, let value?) where IPv4Address(value) != nil: option.address = IPv4Address(value)
                case ("ip6"?, let value?) where IPv6Address(value) != nil: option.address6 = IPv6Address(value)
                default: throw SpecError("invalid --net `\(text)`: expected NAME or NAME:ip=ADDRESS,ip6=ADDRESS,alias=NAME")
                }
            }
            return option
        }
        let first = try networkOption(net)
        let network = try NetworkMode(parsing: first.name)
        var moreNetworks: [NetworkOption] = []
        for text in moreNets {
            let option = try networkOption(text)
            guard case .bridge = network, case .bridge(let name)? = try? NetworkMode(parsing: option.name) else {
                throw SpecError("--net \(text): several networks must all be bridge networks (none, host and container:NAME stand alone)")
            }
            guard !moreNetworks.contains(where: { $0.name == name }), name != (try NetworkMode(parsing: first.name)).bridgeName else {
                throw SpecError("--net \(text): the container is on network \(option.name) already")
            }
            moreNetworks.append((name, option.address, option.address6, option.aliases))
        }
        // --entrypoint: the program, with the command as its arguments (there is no image to
        // take an entrypoint from, so only this one).
        var command = command
        if let entrypoint {
            guard !entrypoint.isEmpty else { throw SpecError("invalid --entrypoint ``: name a program") }
            command.insert(entrypoint, at: 0)
        }
        var spec = ContainerSpec(
            rootfs: rootfs, command: command, hostname: try hostname.map(Hostname.validate),
            limits: limits, network: network,
            cgroupParent: try ContainerSpec.validateCgroupParent(cgroupParent))
        spec.name = try name.map(ContainerSpec.validateName)
        if let ip {
            guard let address = IPv4Address(ip) else { throw SpecError("invalid --ip `\(ip)`: expected an IPv4 address") }
            spec.address = address
        }
        spec.dns = try dns.map { text throws(SpecError) in
            guard let address = IPv4Address(text) else { throw SpecError("invalid --dns `\(text)`: expected an IPv4 address") }
            return address
        }
        spec.ports = try publish.map { text throws(NetworkError) in try PortMapping(parsing: text) }
        if let address = first.address {
            guard spec.address == nil else { throw SpecError("--ip and --net \(net) both give the address: give one of them") }
            spec.address = address
        }
        spec.aliases = try (first.aliases + networkAlias.map { text throws(SpecError) in try ContainerSpec.validateAlias(text) })
        if let ip6 {
            guard let address = IPv6Address(ip6) else { throw SpecError("invalid --ip6 `\(ip6)`: expected an IPv6 address") }
            spec.address6 = address
        }
        spec.macAddress = try macAddress.map { text throws(NetworkError) in try MACAddress.validateForInterface(text) }
        spec.impairment = try impair.map { text throws(NetworkError) in try Impairment(parsing: text) }
        if let address6 = first.address6 {
            guard spec.address6 == nil else { throw SpecError("--ip6 and --net \(net) both give the IPv6 address: give one of them") }
            spec.address6 = address6
        }
        spec.moreNetworks = moreNetworks.map {
            ContainerConfig.NetworkAttachment(network: $0.name, address: $0.address?.description, aliases: $0.aliases,
                                              address6: $0.address6?.description)
        }
        if case .bridge = network {} else if spec.address != nil || spec.address6 != nil || !spec.dns.isEmpty || !spec.ports.isEmpty
                                                 || !spec.aliases.isEmpty || spec.macAddress != nil || spec.impairment != nil {
            throw SpecError("--ip, --ip6, --mac-address, --impair, --dns, --network-alias and -p need a bridge network (--net bridge or --net NAME)")
        }
        var environment = try env.compactMap { entry throws(SpecError) in try EnvironmentEntries.resolve(entry) }
        for path in envFile {
            guard let text = try? Files.read(path) else { throw SpecError("--env-file `\(path)`: cannot be read") }
            environment += try EnvironmentEntries.parseFile(text, path: path)
        }
        spec.environment = environment
        spec.volumes = try volume.map { text throws(SpecError) in try VolumeSpec(parsing: text) }
        for text in mount {
            switch try MountFlag(parsing: text) {
            case .volume(let volume): spec.volumes.append(volume)
            case .tmpfs(let tmpfs): spec.tmpfs.append(tmpfs)
            }
        }
        if let workdir {
            guard workdir.hasPrefix("/") else { throw SpecError("invalid -w `\(workdir)`: must be an absolute path") }
            spec.workdir = workdir
        }
        spec.user = try user.map { text throws(SpecError) in try UserSpec(parsing: text) }
        spec.runInit = runInit
        spec.readOnlyRoot = readOnly
        spec.writableRootfs = rootfsRW
        spec.removeWhenDone = removeWhenDone
        if let superviseID {
            // The detached supervisor: its stderr is the pipe `run -d` reads until the start.
            spec.detached = true
            spec.id = superviseID
            Progress.fd = dup(2)
            Progress.transcript = []
        }
        spec.createOnly = createOnly
        spec.tty = tty
        spec.tmpfs = try tmpfs.map { text throws(SpecError) in try TmpfsSpec(parsing: text) } + spec.tmpfs
        spec.ulimits = try ulimit.map { text throws(SpecError) in try Ulimits.parse(text) }
        spec.labels = try label.map { text throws(SpecError) in
            guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
                throw SpecError("invalid --label `\(text)`: expected KEY=VALUE")
            }
            return text
        }
        if let stopSignal {
            guard let number = Signals.parse(stopSignal) else { throw SpecError("invalid --stop-signal `\(stopSignal)`: no such signal") }
            spec.stopSignal = number
        }
        if let stopTimeout {
            guard let seconds = Int(stopTimeout), seconds >= 0 else {
                throw SpecError("invalid --stop-timeout `\(stopTimeout)`: expected whole seconds, 0 or more")
            }
            spec.stopTimeout = seconds
        }
        spec.interactive = interactive
        spec.hostNamespaces = hostNamespaces
        spec.logOptions = try LogOptions.parse(logOpt)
        spec.extraHosts = try addHost.map { text throws(SpecError) in
            // docker takes NAME:ADDR and NAME=ADDR.
            guard let separator = text.firstIndex(where: { $0 == ":" || $0 == "=" }) else {
                throw SpecError("invalid --add-host `\(text)`: expected NAME:ADDRESS, e.g. db:192.0.2.7 or gw:host-gateway")
            }
            let name = String(text[..<separator]), address = String(text[text.index(after: separator)...])
            guard (try? Hostname.validate(name)) != nil else { throw SpecError("invalid --add-host `\(text)`: `\(name)` is not a host name") }
            if address == "host-gateway" {
                guard case .bridge = network else {
                    throw SpecError("--add-host \(text): host-gateway is the gateway of a bridge network (--net bridge or --net NAME)")
                }
            } else if IPv4Address(address) == nil {
                throw SpecError("invalid --add-host `\(text)`: `\(address)` is not an IPv4 address (or host-gateway)")
            }
            return name + ":" + address
        }
        for text in dnsSearch + dnsOption where text.isEmpty || text.contains(where: { $0 == " " || $0 == "\n" || $0 == "\t" }) {
            throw SpecError("invalid --dns-search/--dns-option `\(text)`: one word each")
        }
        spec.dnsSearch = dnsSearch
        spec.dnsOptions = dnsOption
        if let restart {
            spec.restartPolicy = try RestartPolicy(parsing: restart)
            if spec.restartPolicy != .no {
                guard detach || createOnly else { throw SpecError("--restart \(restart) needs -d (or create): the detached supervisor restarts the container") }
                guard !removeWhenDone else { throw SpecError("--restart and --rm conflict: a container removed when it ends cannot start again") }
            }
        }
        spec.sysctls = try Sysctls.parse(sysctl, ownNetwork: network.ownsNamespace, hostNamespaces: hostNamespaces)
        if let shmSize {
            guard let size = try? ByteSize(parsing: shmSize), size.bytes > 0 else {
                throw SpecError("invalid --shm-size `\(shmSize)`: expected a size such as 64m or 1g")
            }
            if hostNamespaces.contains(.ipc) { throw SpecError("--shm-size and --ipc host conflict: the container uses the host's /dev/shm") }
            spec.shmSize = size
        }
        if let oomScoreAdj {
            guard let value = Int32(oomScoreAdj), (-1000...1000).contains(value) else {
                throw SpecError("invalid --oom-score-adj `\(oomScoreAdj)`: the range is -1000 to 1000")
            }
            spec.oomScoreAdj = value
        }
        spec.groupAdd = try groupAdd.map { text throws(SpecError) in
            guard !text.isEmpty, !text.contains(":"), !text.contains("/") else { throw SpecError("invalid --group-add `\(text)`: expected a group name or number") }
            return text
        }
        spec.security = try SecurityOptions(capAdd: capAdd, capDrop: capDrop, privileged: privileged,
                                            securityOpt: securityOpt, devices: device)
        // As docker: `-v`'s missing host directory is made (once everything else is known good).
        for volume in spec.volumes where volume.createMissingSource && !Files.exists(volume.source) {
            do { try Files.makeDirectories(volume.source) } catch {
                throw SpecError("-v \(volume): cannot create the host directory `\(volume.source)`: \(error)")
            }
        }
        let state = StateOptions.resolve(root: root)
        let context = RuntimeContext(stateRoot: state.stateRoot, networkDirectory: state.networkDirectory,
                                     imageCache: state.imageCache, volumeDirectory: state.volumes, progress: Progress(quiet: quiet),
                                     timings: StartTimings(enabled: timings))
        return try ContainerRunner(spec: spec, context: context).run()
    }
}
