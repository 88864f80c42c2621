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

    @Option(help: ArgumentHelp("The container's root filesystem: a directory, or a .tar/.tar.gz unpacked once into a cache.", valueName: "dir"))
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

    @Option(name: [.customLong("net"), .customLong("network")],
            help: ArgumentHelp("Network: none (own namespace, only lo), host, bridge (the default network `contain`), a network's name (NAME:ip=ADDR to fix the address), or container:NAME; repeat for more bridge networks (eth1 ...).", valueName: "mode"))
    var net: [String] = []

    @Option(help: ArgumentHelp("The container's name, resolvable by the others on its network.", valueName: "name"))
    var name: String?

    @Option(help: ArgumentHelp("A fixed address on the container's network.", valueName: "addr"))
    var ip: String?

    @Option(help: ArgumentHelp("A fixed IPv6 address on the container's (dual-stack) network.", valueName: "addr"))
    var ip6: String?

    @Option(name: .customLong("mac-address"), help: ArgumentHelp("The MAC address of the container's interface on its (first) network (default: 02:42 and its IPv4 address).", valueName: "mac"))
    var macAddress: String?

    @Option(help: ArgumentHelp("What the container's (first) interface's egress suffers from the start, e.g. delay=40ms,jitter=5ms,loss=1%,rate=10mbit (see net impair).", valueName: "spec"))
    var impair: String?

    @Option(help: ArgumentHelp("A resolver for the container's /etc/resolv.conf (repeatable).", valueName: "addr"))
    var dns: [String] = []

    @Option(name: [.customShort("p"), .customLong("publish")],
            help: ArgumentHelp("Publish a port: [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp] (repeatable).", valueName: "port"))
    var publish: [String] = []

    @Option(name: .customLong("cgroup-parent"),
            help: ArgumentHelp("Cgroup under each hierarchy's root that holds the container's cgroup (default: CONTAIN_CGROUP_PARENT, else contain).", valueName: "path"))
    var cgroupParent: String = RunOptions.defaultCgroupParent

    @Option(name: [.customShort("e"), .customLong("env")],
            help: ArgumentHelp("Set an environment variable (repeatable).", valueName: "key=value"))
    var env: [String] = []

    @Option(name: .customLong("env-file"), help: ArgumentHelp("Read KEY=VALUE lines from a file (repeatable).", valueName: "file"))
    var envFile: [String] = []

    @Option(name: [.customShort("v"), .customLong("volume")],
            help: ArgumentHelp("Bind a host path: HOSTPATH:CTRPATH[:ro] (repeatable).", valueName: "volume"))
    var volume: [String] = []

    @Option(name: [.customShort("w"), .customLong("workdir")], help: ArgumentHelp("Working directory inside the container.", valueName: "dir"))
    var workdir: String?

    @Option(name: [.customShort("u"), .customLong("user")], help: ArgumentHelp("Run as UID[:GID] or NAME[:GROUP].", valueName: "user"))
    var user: String?

    @Flag(help: "Run a minimal init as PID 1 that forwards signals and reaps orphans.")
    var `init` = false

    @Flag(name: .customLong("read-only"), help: "Make the container's root filesystem read-only.")
    var readOnly = false

    @Flag(name: .customLong("rootfs-rw"), help: "Write to the rootfs itself instead of a copy-on-write layer.")
    var rootfsRW = false

    @Flag(name: [.customShort("d"), .long], help: "Run in the background: print the id and return; see contain ps, logs, stop.")
    var detach = false

    @Flag(name: .customLong("rm"), help: "Remove a detached container's record when it ends (foreground runs always do).")
    var removeWhenDone = false

    @Option(name: .customLong("supervise-id"), help: .hidden)
    var superviseID: String?

    @Option(name: .customLong("cap-add"), help: ArgumentHelp("Add a Linux capability (repeatable; ALL for every one), e.g. NET_ADMIN.", valueName: "cap"))
    var capAdd: [String] = []

    @Option(name: .customLong("cap-drop"), help: ArgumentHelp("Drop a capability from docker's default 14 (repeatable; ALL for every one).", valueName: "cap"))
    var capDrop: [String] = []

    @Flag(help: "Give the container every capability, every device, a writable /sys, no seccomp filter and no masked paths.")
    var privileged = false

    @Option(name: .customLong("security-opt"), help: ArgumentHelp("seccomp=unconfined, seccomp=FILE.json (docker's profile format) or no-new-privileges (repeatable).", valueName: "opt"))
    var securityOpt: [String] = []

    @Option(name: .customLong("device"), help: ArgumentHelp("Give the container a host device: HOSTPATH[:CONTAINERPATH][:rwm] (repeatable).", valueName: "device"))
    var device: [String] = []

    @Option(name: .customLong("tmpfs"), help: ArgumentHelp("Mount a fresh tmpfs: PATH[:OPTIONS], e.g. /run:size=64m (repeatable).", valueName: "mount"))
    var tmpfs: [String] = []

    @Option(name: [.customShort("l"), .customLong("label")], help: ArgumentHelp("Attach a label: KEY=VALUE (repeatable; ps --filter label=KEY).", valueName: "label"))
    var label: [String] = []

    @Option(name: .customLong("stop-signal"), help: ArgumentHelp("The signal contain stop sends first (default SIGTERM).", valueName: "signal"))
    var stopSignal: String?

    @Option(name: .customLong("stop-timeout"), help: ArgumentHelp("Seconds contain stop waits before SIGKILL (default 10).", valueName: "seconds"))
    var stopTimeout: String?

    @Option(name: .customLong("ulimit"), help: ArgumentHelp("A resource limit: NAME=SOFT[:HARD], e.g. nofile=1024:2048 (repeatable).", valueName: "limit"))
    var ulimit: [String] = []

    @Flag(name: [.customShort("t"), .customLong("tty")], help: "Give the container a terminal of its own (a pty), relayed to this one.")
    var tty = false

    @Flag(name: [.customShort("i"), .customLong("interactive")], help: "Keep stdin open and relay it to the container.")
    var interactive = false

    @Option(name: .customLong("memory-swap"), parsing: .unconditional,
            help: ArgumentHelp("Memory plus swap, e.g. 1g (at least --memory); -1 for unlimited swap.", valueName: "size"))
    var memorySwap: String?

    @Option(name: .customLong("memory-reservation"), help: ArgumentHelp("A soft memory limit the kernel reclaims toward under pressure.", valueName: "size"))
    var memoryReservation: String?

    @Option(name: [.customShort("c"), .customLong("cpu-shares")], help: ArgumentHelp("Relative CPU weight (2-262144; 1024 is the default).", valueName: "n"))
    var cpuShares: String?

    @Option(name: .customLong("cpuset-cpus"), help: ArgumentHelp("CPUs the container may run on, e.g. 0-1,3.", valueName: "list"))
    var cpusetCPUs: String?

    @Option(name: .customLong("cpuset-mems"), help: ArgumentHelp("Memory nodes the container may use, e.g. 0.", valueName: "list"))
    var cpusetMems: String?

    @Option(name: .customLong("sysctl"), help: ArgumentHelp("A namespaced kernel parameter: KEY=VALUE, e.g. net.ipv4.ip_forward=1 (repeatable).", valueName: "key=value"))
    var sysctl: [String] = []

    @Option(name: .customLong("shm-size"), help: ArgumentHelp("Size of /dev/shm (default 64m).", valueName: "size"))
    var shmSize: String?

    @Option(name: .customLong("oom-score-adj"), parsing: .unconditional,
            help: ArgumentHelp("The OOM killer's preference for the container's processes (-1000 to 1000).", valueName: "n"))
    var oomScoreAdj: String?

    @Option(name: .customLong("group-add"), help: ArgumentHelp("An additional group for the command: name or number (repeatable).", valueName: "group"))
    var groupAdd: [String] = []

    @Option(name: .customLong("entrypoint"), help: ArgumentHelp("A program to run with the command as its arguments.", valueName: "program"))
    var entrypoint: String?

    @Option(name: .customLong("mount"), help: ArgumentHelp("type=bind|volume|tmpfs,source=...,target=...[,readonly] (repeatable).", valueName: "mount"))
    var mount: [String] = []

    @Option(name: .customLong("log-opt"), help: ArgumentHelp("A detached container's log: max-size=SIZE (default 20m, -1: no limit), max-file=N (default 5) (repeatable).", valueName: "opt"))
    var logOpt: [String] = []

    @Option(name: .customLong("add-host"), help: ArgumentHelp("An entry of the container's /etc/hosts: NAME:ADDRESS (ADDRESS host-gateway: its network's gateway) (repeatable).", valueName: "host"))
    var addHost: [String] = []

    @Option(name: .customLong("dns-search"), help: ArgumentHelp("A search domain of the container's resolv.conf (repeatable).", valueName: "domain"))
    var dnsSearch: [String] = []

    @Option(name: [.customLong("dns-option"), .customLong("dns-opt")], help: ArgumentHelp("An options entry of the container's resolv.conf, e.g. ndots:2 (repeatable).", valueName: "option"))
    var dnsOption: [String] = []

    @Option(name: .customLong("network-alias"), help: ArgumentHelp("Another name for the container on its (first) network, which the network's name server answers (repeatable).", valueName: "name"))
    var networkAlias: [String] = []

    @Option(name: .customLong("restart"), help: ArgumentHelp("With -d: no (default), always, unless-stopped or on-failure[:N] (restarts in place).", valueName: "policy"))
    var restart: String?

    @Option(name: .customLong("pid"), help: ArgumentHelp("host: share the host's PID namespace.", valueName: "mode"))
    var pid: String?

    @Option(name: .customLong("ipc"), help: ArgumentHelp("host: share the host's IPC namespace and /dev/shm.", valueName: "mode"))
    var ipc: String?

    @Option(name: .customLong("uts"), help: ArgumentHelp("host: share the host's UTS namespace (its hostname).", valueName: "mode"))
    var uts: String?

    /// Set by `contain create`: stop after create until `contain start`.
    @Flag(name: .customLong("create-only"), help: .hidden)
    var createOnly = false

    @OptionGroup var state: StateOptions

    @Flag(name: [.short, .long], help: "Print no progress lines.")
    var quiet = false

    @Flag(help: "Print how long each phase of the start took (parse, cgroup, network, clone, veth, init, pivot, mounts, exec).")
    var timings = false

    @Argument(parsing: .captureForPassthrough,
              help: ArgumentHelp("The command to run: after the options (or after --), as docker takes it after the image.", valueName: "command"))
    var command: [String] = []

    /// What was parsed, as plain values (the fast path produces the same, see RunOptions).
    var options: RunOptions {
        var options = RunOptions(rootfs: rootfs, memory: memory, cpu: cpu, cpus: cpus, pids: pids, hostname: hostname, net: net.first ?? "none",
                   name: name, ip: ip, dns: dns, publish: publish, cgroupParent: cgroupParent, root: state.root,
                   env: env, envFile: envFile, volume: volume, workdir: workdir, user: user, runInit: `init`,
                   readOnly: readOnly, rootfsRW: rootfsRW, detach: detach, removeWhenDone: removeWhenDone,
                   superviseID: superviseID, createOnly: createOnly, capAdd: capAdd, capDrop: capDrop,
                   privileged: privileged, securityOpt: securityOpt, device: device, tty: tty, interactive: interactive, tmpfs: tmpfs, ulimit: ulimit, label: label, stopSignal: stopSignal,
                   stopTimeout: stopTimeout, quiet: quiet, timings: timings, command: command.first == "--" ? Array(command.dropFirst()) : command)
        options.memorySwap = memorySwap
        options.memoryReservation = memoryReservation
        options.cpuShares = cpuShares
        options.cpusetCPUs = cpusetCPUs
        options.cpusetMems = cpusetMems
        options.sysctl = sysctl
        options.shmSize = shmSize
        options.oomScoreAdj = oomScoreAdj
        options.groupAdd = groupAdd
        options.entrypoint = entrypoint
        options.pid = pid
        options.ipc = ipc
        options.uts = uts
        options.mount = mount
        options.logOpt = logOpt
        options.moreNets = Array(net.dropFirst())
        options.restart = restart
        options.addHost = addHost
        options.dnsSearch = dnsSearch
        options.dnsOption = dnsOption
        options.networkAlias = networkAlias
        options.ip6 = ip6
        options.macAddress = macAddress
        options.impair = impair
        return options
    }

    /// The command begins at the first word that is not an option (as docker's at the image);
    /// an option this command does not know is an error, not the start of a command.
    func validate() throws {
        if let first = command.first, first.hasPrefix("-"), first != "--" {
            throw ValidationError("Unknown option '\(first)'")
        }
    }

    func run() throws {
        throw ExitCode(try options.run())
    }
}
