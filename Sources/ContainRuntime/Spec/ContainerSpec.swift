import ContainNetwork
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// Everything `contain run` was asked to do, validated.
public struct ContainerSpec: Sendable {
    /// As the user typed it (for messages), and resolved to a canonical absolute path.
    public var rootfsArgument: String
    public var command: [String]
    public var hostname: String?
    public var limits: ResourceLimits
    public var network: NetworkMode
    /// Extra `KEY=VALUE` entries over the default environment.
    public var environment: [String]
    /// Where under each cgroup hierarchy's root the container's cgroup goes.
    public var cgroupParent: String
    /// `--name`: for people, and for name resolution on its networks.
    public var name: String?
    /// `--ip`: a fixed address on its bridge network.
    public var address: IPv4Address?
    /// `--dns`: resolvers for the generated resolv.conf instead of the network's name server.
    public var dns: [IPv4Address] = []
    /// `--ip6`: a fixed IPv6 address on its (first, dual-stack) bridge network.
    public var address6: IPv6Address?
    /// `--mac-address`: its interface's MAC address on its (first) bridge network.
    public var macAddress: [UInt8]?
    /// `--impair`: what its (first) interface's egress suffers from the start.
    public var impairment: Impairment?
    /// `--network-alias`: more names for it on its (first) bridge network.
    public var aliases: [String] = []
    /// `-p`: host ports forwarded to the container.
    public var ports: [PortMapping] = []
    /// `-v`: host paths bound in.
    public var volumes: [VolumeSpec] = []
    /// `--rootfs-rw`: write through to the rootfs instead of a copy-on-write layer.
    public var writableRootfs = false
    /// `--read-only`: the container's root is read-only.
    public var readOnlyRoot = false
    public var workdir: String?
    public var user: UserSpec?
    /// `--init`: a minimal init as PID 1.
    public var runInit = false
    /// `-d`: this process is the detached supervisor; the container's output goes to its
    /// record, progress to the runtime log once it has started.
    public var detached = false
    /// `--rm`: remove the record when the container ends (always so for foreground runs).
    public var removeWhenDone = false
    /// `--tmpfs PATH[:OPTIONS]`: a fresh tmpfs at PATH (docker's default options: noexec, nosuid, nodev).
    public var tmpfs: [TmpfsSpec] = []
    /// `--label KEY=VALUE` (the configuration's annotations), `--stop-signal`, `--stop-timeout`.
    public var labels: [String] = []
    public var stopSignal: Int32 = SIGTERM
    public var stopTimeout = 10
    /// `--ulimit NAME=SOFT[:HARD]`
    public var ulimits: [ContainerConfig.Process.Rlimit] = []
    /// `-t`: a terminal of the container's own; `-i`: the caller's stdin relayed to it.
    public var tty = false
    public var interactive = false
    /// Capabilities, seccomp, no_new_privs, devices: docker's defaults unless asked.
    public var security = SecurityOptions()
    /// `contain create`: stop after create until `contain start` (implies `detached`).
    public var createOnly = false
    /// The id, when the caller chose it (the detaching `contain run` does, to print it).
    public var id: String?
    /// `--sysctl KEY=VALUE`: namespaced kernel parameters, set inside the container's namespaces.
    public var sysctls: [String: String] = [:]
    /// `--shm-size`: the size of /dev/shm (docker's default 64 MiB).
    public var shmSize: ByteSize?
    /// `--oom-score-adj`: -1000 to 1000.
    public var oomScoreAdj: Int32?
    /// `--group-add`: supplementary groups, names (from the container's /etc/group) or numbers.
    public var groupAdd: [String] = []
    /// `--add-host NAME:ADDR` (checked: ADDR an IPv4 address or `host-gateway`), `--dns-search`,
    /// `--dns-option`.
    public var extraHosts: [String] = []
    public var dnsSearch: [String] = []
    public var dnsOptions: [String] = []
    /// `--net a --net b`: the bridge networks after the first (`eth1` ...), each with its
    /// optional fixed address.
    public var moreNetworks: [ContainerConfig.NetworkAttachment] = []
    /// `--restart`: what the detached supervisor does when the container ends.
    public var restartPolicy: RestartPolicy = .no
    /// `--log-opt max-size=`, `max-file=`: a detached container's log rotation.
    public var logOptions = LogOptions()
    /// `--pid host`, `--ipc host`, `--uts host`: namespaces shared with the host instead of new.
    public var hostNamespaces: Set<ContainerConfig.Linux.NamespaceType> = []

    public init(rootfs: String, command: [String], hostname: String? = nil, limits: ResourceLimits = .init(),
                network: NetworkMode = .none, environment: [String] = [], cgroupParent: String = "contain") {
        self.rootfsArgument = rootfs
        self.command = command
        self.hostname = hostname
        self.limits = limits
        self.network = network
        self.environment = environment
        self.cgroupParent = cgroupParent
    }

    /// The environment the command starts with: a sane default, nothing of the host's but TERM.
    public func defaultEnvironment(hostname: String, term: String?) -> [String] {
        // HOME is added by the init from the user's passwd entry when not given (runc's rule).
        var env = [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOSTNAME=\(hostname)",
        ]
        if let term { env.append("TERM=\(term)") }
        for entry in environment {
            let key = entry.split(separator: "=", maxSplits: 1).first.map(String.init) ?? entry
            env.removeAll { $0.hasPrefix(key + "=") }
            env.append(entry)
        }
        return env
    }

    /// `--name`: letters, digits, `_`, `.`, `-`, starting with a letter or digit (docker's rule).
    public static func validateName(_ text: String) throws(SpecError) -> String {
        let bytes = Array(text.utf8)
        func alnum(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) }
        guard !bytes.isEmpty, bytes.count <= 63, alnum(bytes[0]),
              bytes.allSatisfy({ alnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }) else {
            throw SpecError("invalid --name `\(text)`: use up to 63 letters, digits, `_`, `.` or `-`, starting with a letter or digit")
        }
        return text
    }

    /// A network alias is a DNS name: labels of letters, digits, `-` and `_`, separated by
    /// dots, up to 253 characters; an alias that looks like an address would shadow one.
    public static func validateAlias(_ text: String, flag: String = "--network-alias") throws(SpecError) -> String {
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        func alnum(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) }
        guard text.utf8.count <= 253, !labels.isEmpty, labels.allSatisfy({ label in
            !label.isEmpty && label.utf8.count <= 63 && alnum(label.utf8.first!) && label.utf8.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
        }), IPv4Address(text) == nil else {
            throw SpecError("invalid \(flag) `\(text)`: expected a name such as web or db.internal (letters, digits, `-`, `_`, dot-separated)")
        }
        return text
    }

    /// `--cgroup-parent`: a relative path of plain names, never escaping the hierarchy root.
    public static func validateCgroupParent(_ text: String) throws(SpecError) -> String {
        // Byte-wise and joined by hand: on every start's path, where a generic split and join
        // of Substrings cost the runtime's first lookups of their conformances.
        let parts = text.splitASCII("/")
        guard !parts.isEmpty, parts.allSatisfy({ $0 != "." && $0 != ".." }) else {
            throw SpecError("invalid --cgroup-parent `\(text)`: expected a path such as contain or contain/tests")
        }
        var path = ""
        for part in parts {
            if !path.isEmpty { path += "/" }
            path += String(part)
        }
        return path
    }
}
