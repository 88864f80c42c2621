import ArgumentParser
import ContainNetwork
import ContainRuntime
#if canImport(Glibc)
import Glibc
#endif

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a command in a new container.",
        discussion: """
            Examples:
              contain run --rootfs ./rootfs -- /bin/sh
              contain run --rootfs ./rootfs --memory 64M --cpus 0.5 --pids 64 --hostname box -- hostname
              contain run --rootfs ./rootfs --net bridge --name web -- httpd -f -p 80
            """
    )

    @Option(help: ArgumentHelp("The directory to use as the container's root filesystem.", valueName: "dir"))
    var rootfs: String

    @Option(parsing: .unconditional, help: ArgumentHelp("Memory limit, e.g. 64M, 1G, 512K, 1048576 (units are binary).", valueName: "size"))
    var memory: String?

    @Option(help: ArgumentHelp("CPU quota in microseconds per 100000 us period (50000 = half a CPU).", valueName: "quota"))
    var cpu: String?

    @Option(help: ArgumentHelp("CPUs the container may use, e.g. 1.5 (docker's form of --cpu).", valueName: "n"))
    var cpus: String?

    @Option(help: ArgumentHelp("Maximum number of processes.", valueName: "n"))
    var pids: String?

    @Option(help: ArgumentHelp("The container's hostname (default: its short id).", valueName: "name"))
    var hostname: String?

    @Option(help: ArgumentHelp("Network: none (own namespace, only lo), host, bridge (the default network `contain`) or a network's name.", valueName: "mode"))
    var net: String = "none"

    @Option(help: ArgumentHelp("The container's name, resolvable by the others on its network.", valueName: "name"))
    var name: String?

    @Option(help: ArgumentHelp("A fixed address on the container's network.", valueName: "addr"))
    var ip: String?

    @Option(help: ArgumentHelp("A resolver for the container's /etc/resolv.conf (repeatable).", valueName: "addr"))
    var dns: [String] = []

    @Option(name: [.customShort("p"), .customLong("publish")],
            help: ArgumentHelp("Publish a port: [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp] (repeatable).", valueName: "port"))
    var publish: [String] = []

    @Option(name: .customLong("cgroup-parent"),
            help: ArgumentHelp("Cgroup under each hierarchy's root that holds the container's cgroup.", valueName: "path"))
    var cgroupParent: String = "contain"

    @OptionGroup var state: StateOptions

    @Flag(name: [.short, .long], help: "Print no progress lines.")
    var quiet = false

    @Flag(help: "Print how long each phase of the start took (parse, cgroup, network, clone, veth, init, pivot, mounts, exec).")
    var timings = false

    @Argument(parsing: .remaining, help: ArgumentHelp("The command to run, after --.", valueName: "command"))
    var command: [String] = []

    func run() throws {
        var limits = ResourceLimits()
        if let memory { limits.memory = try ResourceLimits.memory(memory) }
        if cpu != nil && cpus != nil { throw SpecError("--cpu and --cpus set the same limit: give one of them") }
        if let cpu { limits.cpu = try CPUQuota(quotaText: cpu) }
        if let cpus { limits.cpu = try CPUQuota(cpusText: cpus, availableCPUs: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
        if let pids { limits.pids = try ResourceLimits.pids(pids) }

        let network = try NetworkMode(parsing: net)
        let argv = command.first == "--" ? Array(command.dropFirst()) : command
        var spec = ContainerSpec(
            rootfs: rootfs, command: argv, hostname: try hostname.map(Hostname.validate),
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
        if case .bridge = network {} else if spec.address != nil || !spec.dns.isEmpty || !spec.ports.isEmpty {
            throw SpecError("--ip, --dns and -p need a bridge network (--net bridge or --net NAME)")
        }
        let code = try ContainerRunner(spec: spec, progress: Progress(quiet: quiet), stateRoot: state.stateRoot,
                                       networkDirectory: state.networkDirectory,
                                       timings: StartTimings(enabled: timings)).run()
        throw ExitCode(code)
    }
}
