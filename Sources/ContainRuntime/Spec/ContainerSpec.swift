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
        var env = [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME=/root",
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

    /// `--cgroup-parent`: a relative path of plain names, never escaping the hierarchy root.
    public static func validateCgroupParent(_ text: String) throws(SpecError) -> String {
        let parts = text.split(separator: "/")
        guard !parts.isEmpty, parts.allSatisfy({ $0 != "." && $0 != ".." }) else {
            throw SpecError("invalid --cgroup-parent `\(text)`: expected a path such as contain or contain/tests")
        }
        return parts.joined(separator: "/")
    }
}
