import ContainRuntime

/// An OCI bundle's `config.json` (runtime-spec 1.2) into contain's one configuration. Every key
/// is either honoured or refused with its path named (`linux.uidMappings: user namespaces are not
/// supported`); none is ignored, because a client that sent it counts on it.
public enum OCIConfig {
    /// Reads `BUNDLE/config.json`; `id` is the container's OCI id (its contain name).
    public static func read(bundle: String, id: String, bytes: [UInt8]) throws(OCIError) -> ContainerConfig {
        let json = try JSONValue.parse(bytes)
        var top = try Fields(json, path: "")
        var config = ContainerConfig()
        guard let version = try top.string("ociVersion") else { throw OCIError("ociVersion: missing") }
        config.ociVersion = version
        guard config.ociVersion.hasPrefix("1.") else { throw OCIError("ociVersion \(config.ociVersion): contain reads runtime-spec 1.x") }
        guard var process = try top.object("process") else { throw OCIError("process: missing (contain-oci runs a process)") }
        config.process = try Self.process(&process)
        guard var root = try top.object("root") else { throw OCIError("root: missing") }
        let rootPath = try root.string("path") ?? "rootfs"
        config.root = ContainerConfig.Root(path: rootPath.hasPrefix("/") ? rootPath : bundle + "/" + rootPath,
                                           readonly: try root.bool("readonly") ?? false)
        try root.finish()
        config.hostname = try top.string("hostname")
        if let domain = try top.string("domainname"), !domain.isEmpty { throw OCIError("domainname: not supported (set hostname only)") }
        config.annotations = try top.stringMap("annotations")
        if var hooks = try top.object("hooks") {
            func list(_ name: String) throws(OCIError) -> [ContainerConfig.Hook] {
                try (hooks.array(name) ?? []).enumerated().map { (index, value) throws(OCIError) in
                    var hook = try Fields(value, path: "hooks.\(name)[\(index)]")
                    guard let path = try hook.string("path"), path.hasPrefix("/") else {
                        throw OCIError("hooks.\(name)[\(index)].path: missing or not absolute")
                    }
                    let timeout = try hook.int64("timeout")
                    if let timeout, timeout <= 0 || timeout > Int64(Int32.max) { throw OCIError("hooks.\(name)[\(index)].timeout: seconds, more than 0") }
                    let made = ContainerConfig.Hook(path: path, args: try hook.strings("args") ?? [], env: try hook.strings("env") ?? [],
                                                    timeout: timeout.map { Int32($0) })
                    try hook.finish()
                    return made
                }
            }
            config.hooks = ContainerConfig.Hooks(
                prestart: try list("prestart"), createRuntime: try list("createRuntime"), createContainer: try list("createContainer"),
                startContainer: try list("startContainer"), poststart: try list("poststart"), poststop: try list("poststop"))
            try hooks.finish()
        }
        var linux: Fields
        if let given = try top.object("linux") { linux = given } else { linux = try Fields(.object([:]), path: "linux") }
        config.linux = try Self.linux(&linux, id: id)
        let mountValues = try top.array("mounts") ?? []
        config.mounts = try Self.mounts(mountValues)
        try top.finish()

        // A cgroup mount shows the container's own cgroups: contain mounts it in a cgroup
        // namespace of the container's (runc, without one, binds the container's directories
        // there instead; what the container sees at /sys/fs/cgroup is the same).
        let cgroupMount = mountValues.contains { value in
            guard case .object(let fields) = value, case .string(let destination)? = fields["destination"],
                  case .string(let type)? = fields["type"] else { return false }
            return destination == "/sys/fs/cgroup" && (type == "cgroup" || type == "cgroup2")
        }
        if cgroupMount, !config.linux.namespaces.contains(where: { $0.type == .cgroup }) {
            config.linux.namespaces.append(ContainerConfig.Linux.Namespace(type: .cgroup))
        }
        let namespaces = Set(config.linux.namespaces.map(\.type))
        guard namespaces.contains(.mount) else { throw OCIError("linux.namespaces: contain always gives a container its own mount namespace; list `mount`") }
        if config.hostname != nil && !namespaces.contains(.uts) { throw OCIError("hostname: needs a uts namespace of its own") }
        config.contain = ContainerConfig.ContainExtensions(
            networkMode: namespaces.contains(.network) ? .none : .host, name: id,
            // The bundle's rootfs is the container's, written in place, as runc does.
            copyOnWrite: false, detached: true, seccompProfile: config.linux.seccomp == nil ? "unconfined" : "config.json")
        // Only the mounts config.json lists (podman's own /etc/hosts, resolv.conf and hostname).
        config.contain.nameFiles = false
        // Every v1 hierarchy, as runc places a container (podman's stats read blkio there).
        config.contain.everyCgroupHierarchy = true
        return config
    }

    /// `exec --process FILE`: one `process` object, as config.json's.
    public static func readProcess(bytes: [UInt8]) throws(OCIError) -> ContainerConfig.Process {
        var fields = try Fields(try JSONValue.parse(bytes), path: "process")
        return try process(&fields)
    }

    /// `update --resources FILE`: one `linux.resources` object. Device rules are not updated.
    public static func readResources(bytes: [UInt8]) throws(OCIError) -> ContainerConfig.Linux.Resources {
        var fields = try Fields(try JSONValue.parse(bytes), path: "resources")
        var linux = ContainerConfig.Linux()
        let resources = try Self.resources(&fields, linux: &linux)
        if !linux.deviceCgroupRules.isEmpty { throw OCIError("resources.devices: update does not change the device rules") }
        return resources
    }

    static func process(_ fields: inout Fields) throws(OCIError) -> ContainerConfig.Process {
        var process = ContainerConfig.Process()
        // A pty of its own devpts; its size is the engine's to set on the master it receives.
        process.terminal = try fields.bool("terminal") ?? false
        _ = try fields.object("consoleSize")
        guard let args = try fields.strings("args"), !args.isEmpty else { throw OCIError("process.args: missing or empty") }
        process.args = args
        process.env = try fields.strings("env") ?? []
        guard let cwd = try fields.string("cwd"), cwd.hasPrefix("/") else { throw OCIError("process.cwd: missing or not absolute") }
        process.cwd = cwd
        if var user = try fields.object("user") {
            process.user.uid = try user.uint32("uid") ?? 0
            process.user.gid = try user.uint32("gid") ?? 0
            process.user.additionalGids = try (user.array("additionalGids") ?? []).map { value throws(OCIError) in
                guard case .number(let number, _) = value, number >= 0, number <= Double(UInt32.max), number == number.rounded() else {
                    throw OCIError("process.user.additionalGids: numbers only")
                }
                return UInt32(number)
            }
            if let umask = try user.uint32("umask") {
                guard umask <= 0o777 else { throw OCIError("process.user.umask: from 0 to 0777") }
                process.user.umask = umask
            }
            if let name = try user.string("username"), !name.isEmpty { throw OCIError("process.user.username: Windows only") }
            try user.finish()
        }
        // No capabilities given: none at all (runc's reading), not docker's default set.
        var capabilities = ContainerConfig.Process.Capabilities()
        if var sets = try fields.object("capabilities") {
            capabilities.bounding = try sets.strings("bounding") ?? []
            capabilities.effective = try sets.strings("effective") ?? []
            capabilities.inheritable = try sets.strings("inheritable") ?? []
            capabilities.permitted = try sets.strings("permitted") ?? []
            capabilities.ambient = try sets.strings("ambient") ?? []
            try sets.finish()
        }
        process.capabilities = capabilities
        for (index, value) in (try fields.array("rlimits") ?? []).enumerated() {
            var limit = try Fields(value, path: "process.rlimits[\(index)]")
            guard let type = try limit.string("type"), let hard = try limit.uint64("hard"), let soft = try limit.uint64("soft") else {
                throw OCIError("process.rlimits[\(index)]: needs type, hard and soft")
            }
            process.rlimits.append(ContainerConfig.Process.Rlimit(type: type, hard: hard, soft: soft))
            try limit.finish()
        }
        process.noNewPrivileges = try fields.bool("noNewPrivileges") ?? false
        if let adjust = try fields.number("oomScoreAdj") {
            guard (-1000...1000).contains(adjust) else { throw OCIError("process.oomScoreAdj: from -1000 to 1000") }
            process.oomScoreAdj = Int32(adjust)
        }
        for unsupported in ["apparmorProfile", "selinuxLabel"] {
            if let value = try fields.string(unsupported), !value.isEmpty {
                throw OCIError("process.\(unsupported): this kernel's \(unsupported == "apparmorProfile" ? "AppArmor" : "SELinux") profiles are not supported by contain")
            }
        }
        try fields.finish()
        return process
    }

    static func linux(_ fields: inout Fields, id: String) throws(OCIError) -> ContainerConfig.Linux {
        var linux = ContainerConfig.Linux()
        for (index, value) in (try fields.array("namespaces") ?? []).enumerated() {
            var entry = try Fields(value, path: "linux.namespaces[\(index)]")
            guard let name = try entry.string("type"), let type = ContainerConfig.Linux.NamespaceType(rawValue: name) else {
                throw OCIError("linux.namespaces[\(index)].type: one of pid, network, mount, ipc, uts, user, cgroup, time")
            }
            if type == .user || type == .time { throw OCIError("linux.namespaces: \(name) namespaces are not supported yet") }
            let path = try entry.string("path")
            // An engine's network, ipc and uts namespaces (podman's, a pod's) are joined; a PID
            // or mount namespace is the container's own.
            if let path, ![.network, .ipc, .uts, .cgroup].contains(type) {
                throw OCIError("linux.namespaces[\(index)] (\(name)): joining an existing \(name) namespace (\(path)) is not supported yet")
            }
            if let path, !path.hasPrefix("/") { throw OCIError("linux.namespaces[\(index)].path: must be absolute") }
            guard !linux.namespaces.contains(where: { $0.type == type }) else { throw OCIError("linux.namespaces: \(name) listed twice") }
            linux.namespaces.append(ContainerConfig.Linux.Namespace(type: type, path: path))
            try entry.finish()
        }
        for key in ["uidMappings", "gidMappings"] {
            if let mappings = try fields.array(key), !mappings.isEmpty { throw OCIError("linux.\(key): user namespaces are not supported yet") }
        }
        if let path = try fields.string("cgroupsPath"), !path.isEmpty {
            // Absolute: from each hierarchy's root (podman's /libpod_parent/libpod-ID,
            // containerd's /NAMESPACE/ID). Relative: under contain-oci's own parent there, never
            // under the caller's cgroup (runc's reading would put it there).
            if path.contains(":") {
                throw OCIError("linux.cgroupsPath `\(path)`: a systemd slice:prefix:name path needs the systemd cgroup manager, which contain does not have (use cgroupfs)")
            }
            let parts = path.split(separator: "/")
            guard !parts.isEmpty, parts.allSatisfy({ $0 != "." && $0 != ".." }) else {
                throw OCIError("linux.cgroupsPath `\(path)`: expected PARENT/NAME")
            }
            let rooted = path.hasPrefix("/") && parts.count >= 2
            linux.cgroupsPath = (rooted ? "" : "contain-oci/") + parts.joined(separator: "/")
        }
        if var resources = try fields.object("resources") {
            linux.resources = try Self.resources(&resources, linux: &linux)
        }
        for (index, value) in (try fields.array("devices") ?? []).enumerated() {
            var device = try Fields(value, path: "linux.devices[\(index)]")
            guard let path = try device.string("path"), let type = try device.string("type") else {
                throw OCIError("linux.devices[\(index)]: needs path and type")
            }
            linux.devices.append(ContainerConfig.Linux.Device(
                path: path, type: type, major: try device.int64("major") ?? 0, minor: try device.int64("minor") ?? 0,
                fileMode: try device.uint32("fileMode"), uid: try device.uint32("uid"), gid: try device.uint32("gid")))
            try device.finish()
        }
        // runc appends its AllowedDevices to every container's rules (any node may be made;
        // null, zero, full, random, urandom, tty, console, ptmx, pts and tun may be opened).
        linux.deviceCgroupRules += DeviceRules.dockerDefault.dropFirst()
        linux.maskedPaths = try fields.strings("maskedPaths") ?? []
        linux.readonlyPaths = try fields.strings("readonlyPaths") ?? []
        linux.sysctl = try fields.stringMap("sysctl")
        linux.rootfsPropagation = try fields.string("rootfsPropagation")
        if var seccomp = try fields.object("seccomp") {
            linux.seccomp = try Self.seccomp(&seccomp)
        }
        if let label = try fields.string("mountLabel"), !label.isEmpty { throw OCIError("linux.mountLabel: SELinux is not supported by contain") }
        for unsupported in ["intelRdt", "personality", "timeOffsets", "memoryPolicy", "netDevices"] {
            if try fields.take(unsupported) != nil { throw OCIError("linux.\(unsupported): not supported yet") }
        }
        try fields.finish()
        return linux
    }

    static func resources(_ fields: inout Fields, linux: inout ContainerConfig.Linux) throws(OCIError) -> ContainerConfig.Linux.Resources {
        var resources = ContainerConfig.Linux.Resources()
        if var memory = try fields.object("memory") {
            resources.memory = ContainerConfig.Linux.Resources.Memory(
                limit: try memory.int64("limit"), swap: try memory.int64("swap"), reservation: try memory.int64("reservation"))
            try memory.finish()
        }
        if var cpu = try fields.object("cpu") {
            resources.cpu = ContainerConfig.Linux.Resources.CPU(
                quota: try cpu.int64("quota"), period: try cpu.uint64("period"), shares: try cpu.uint64("shares"),
                cpus: try cpu.string("cpus"), mems: try cpu.string("mems"))
            try cpu.finish()
        }
        if var pids = try fields.object("pids") {
            if let limit = try pids.int64("limit") { resources.pids = ContainerConfig.Linux.Resources.Pids(limit: limit) }
            try pids.finish()
        }
        for (index, value) in (try fields.array("devices") ?? []).enumerated() {
            var rule = try Fields(value, path: "linux.resources.devices[\(index)]")
            guard let allow = try rule.bool("allow") else { throw OCIError("linux.resources.devices[\(index)].allow: missing") }
            linux.deviceCgroupRules.append(ContainerConfig.Linux.DeviceRule(
                allow: allow, type: try rule.string("type"), major: try rule.int64("major"), minor: try rule.int64("minor"),
                access: try rule.string("access")))
            try rule.finish()
        }
        for (index, value) in (try fields.array("hugepageLimits") ?? []).enumerated() {
            var limit = try Fields(value, path: "linux.resources.hugepageLimits[\(index)]")
            guard let size = try limit.string("pageSize"), let bytes = try limit.uint64("limit") else {
                throw OCIError("linux.resources.hugepageLimits[\(index)]: needs pageSize and limit")
            }
            guard size.count >= 3, size.hasSuffix("B"), size.dropLast(2).allSatisfy(\.isNumber), "KMG".contains(size.dropLast().last!) else {
                throw OCIError("linux.resources.hugepageLimits[\(index)].pageSize `\(size)`: as hugetlb names it, such as 2MB or 1GB")
            }
            resources.hugepageLimits.append(ContainerConfig.Linux.Resources.HugepageLimit(pageSize: size, limit: bytes))
            try limit.finish()
        }
        for unsupported in ["blockIO", "network", "rdma", "unified"] {
            if let value = try fields.take(unsupported), value != .object([:]), value != .array([]) {
                throw OCIError("linux.resources.\(unsupported): not supported yet")
            }
        }
        try fields.finish()
        return resources
    }

    static func seccomp(_ fields: inout Fields) throws(OCIError) -> ContainerConfig.Linux.Seccomp {
        guard let action = try fields.string("defaultAction") else { throw OCIError("linux.seccomp.defaultAction: missing") }
        var seccomp = ContainerConfig.Linux.Seccomp(defaultAction: action, defaultErrnoRet: try fields.uint32("defaultErrnoRet"),
                                                    architectures: try fields.strings("architectures") ?? [])
        for (index, value) in (try fields.array("syscalls") ?? []).enumerated() {
            var rule = try Fields(value, path: "linux.seccomp.syscalls[\(index)]")
            guard let names = try rule.strings("names"), let ruleAction = try rule.string("action") else {
                throw OCIError("linux.seccomp.syscalls[\(index)]: needs names and action")
            }
            var arguments: [ContainerConfig.Linux.Seccomp.Arg] = []
            for (position, argument) in (try rule.array("args") ?? []).enumerated() {
                var arg = try Fields(argument, path: "linux.seccomp.syscalls[\(index)].args[\(position)]")
                guard let argIndex = try arg.uint32("index"), let value = try arg.uint64("value"), let op = try arg.string("op") else {
                    throw OCIError("linux.seccomp.syscalls[\(index)].args[\(position)]: needs index, value and op")
                }
                arguments.append(ContainerConfig.Linux.Seccomp.Arg(index: argIndex, value: value, valueTwo: try arg.uint64("valueTwo") ?? 0, op: op))
                try arg.finish()
            }
            seccomp.syscalls.append(ContainerConfig.Linux.Seccomp.SyscallRule(names: names, action: ruleAction,
                                                                              errnoRet: try rule.uint32("errnoRet"), args: arguments))
            _ = try rule.take("comment")
            try rule.finish()
        }
        for unsupported in ["listenerPath", "listenerMetadata", "flags"] {
            if let value = try fields.take(unsupported), value != .string(""), value != .array([]) {
                throw OCIError("linux.seccomp.\(unsupported): not supported yet")
            }
        }
        try fields.finish()
        return seccomp
    }

    /// The mounts every runtime makes (contain makes these itself, as docker's defaults), and
    /// binds and tmpfs elsewhere; anything else is refused.
    static let standardMounts: Set<String> = ["proc /proc", "tmpfs /dev", "devpts /dev/pts", "tmpfs /dev/shm",
                                               "mqueue /dev/mqueue", "sysfs /sys", "cgroup /sys/fs/cgroup", "cgroup2 /sys/fs/cgroup"]
    // (A bind at /dev/shm is the bundle's own, podman's or a pod's shared one: kept.)

    static func mounts(_ values: [JSONValue]) throws(OCIError) -> [ContainerConfig.Mount] {
        var mounts: [ContainerConfig.Mount] = []
        for (index, value) in values.enumerated() {
            var fields = try Fields(value, path: "mounts[\(index)]")
            guard let destination = try fields.string("destination"), destination.hasPrefix("/") else {
                throw OCIError("mounts[\(index)].destination: missing or not absolute")
            }
            let options = try fields.strings("options") ?? []
            let source = try fields.string("source")
            let type = try fields.string("type") ?? (options.contains("bind") || options.contains("rbind") ? "bind" : "")
            for key in ["uidMappings", "gidMappings"] {
                if let mappings = try fields.array(key), !mappings.isEmpty { throw OCIError("mounts[\(index)].\(key): idmapped mounts are not supported yet") }
            }
            try fields.finish()
            if standardMounts.contains("\(type) \(destination)") { continue }
            switch type {
            case "bind":
                guard let source, source.hasPrefix("/") else { throw OCIError("mounts[\(index)] (\(destination)): a bind mount needs an absolute source") }
                // Every mount of a container is private: private and rprivate say so.
                let known: Set<String> = ["bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "suid", "dev", "exec", "private", "rprivate"]
                if let other = options.first(where: { !known.contains($0) }) {
                    throw OCIError("mounts[\(index)] (\(destination)): option `\(other)` is not supported yet")
                }
                let kept = options.filter { ["ro", "nosuid", "nodev", "noexec"].contains($0) }
                mounts.append(ContainerConfig.Mount(destination: destination, type: "bind", source: source,
                                                    options: [options.contains("rbind") ? "rbind" : "bind"] + kept))
            case "tmpfs":
                let flags: Set<String> = ["ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "private", "rprivate", "tmpcopyup"]
                let data: Set<String> = ["size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "huge"]
                if let other = options.first(where: { option in
                    !flags.contains(option) && TmpfsSpec.timeFlags[option] == nil
                        && !data.contains(String(option.prefix(while: { $0 != "=" }))) }) {
                    throw OCIError("mounts[\(index)] (\(destination)): option `\(other)` is not supported yet")
                }
                // Nothing implied (docker's --tmpfs is noexec, nosuid, nodev; an OCI mount says).
                mounts.append(ContainerConfig.Mount(destination: destination, type: "tmpfs", source: "tmpfs",
                                                    options: ["exec", "suid", "dev"] + options))
            default:
                throw OCIError("mounts[\(index)]: a \(type.isEmpty ? "mount without a type" : type) mount at \(destination) is not supported yet")
            }
        }
        return mounts
    }
}

/// An object's fields, taken one by one; `finish` refuses what nobody took.
struct Fields {
    let path: String
    private var values: [String: JSONValue]
    private var taken: Set<String> = []

    init(_ value: JSONValue, path: String) throws(OCIError) {
        guard case .object(let values) = value else { throw OCIError("\(path.isEmpty ? "config.json" : path): must be an object") }
        self.path = path
        self.values = values
    }

    func name(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// The value of `key`; null counts as absent.
    mutating func take(_ key: String) throws(OCIError) -> JSONValue? {
        taken.insert(key)
        guard let value = values[key], value != .null else { return nil }
        return value
    }

    mutating func string(_ key: String) throws(OCIError) -> String? {
        guard let value = try take(key) else { return nil }
        guard case .string(let text) = value else { throw OCIError("\(name(key)): must be a string") }
        return text
    }

    mutating func bool(_ key: String) throws(OCIError) -> Bool? {
        guard let value = try take(key) else { return nil }
        guard case .bool(let flag) = value else { throw OCIError("\(name(key)): must be true or false") }
        return flag
    }

    mutating func number(_ key: String) throws(OCIError) -> Int? {
        guard let value = try int64(key) else { return nil }
        return Int(value)
    }

    mutating func int64(_ key: String) throws(OCIError) -> Int64? {
        guard let value = try take(key) else { return nil }
        guard case .number(let number, let text) = value, let integer = Int64(text) ?? (number == number.rounded() && abs(number) < 9.2e18 ? Int64(number) : nil) else {
            throw OCIError("\(name(key)): must be a whole number")
        }
        return integer
    }

    mutating func uint64(_ key: String) throws(OCIError) -> UInt64? {
        guard let value = try take(key) else { return nil }
        guard case .number(let number, let text) = value, let integer = UInt64(text) ?? (number >= 0 && number == number.rounded() && number < 1.8e19 ? UInt64(number) : nil) else {
            throw OCIError("\(name(key)): must be a whole number, not negative")
        }
        return integer
    }

    mutating func uint32(_ key: String) throws(OCIError) -> UInt32? {
        guard let value = try uint64(key) else { return nil }
        guard value <= UInt64(UInt32.max) else { throw OCIError("\(name(key)): too large") }
        return UInt32(value)
    }

    mutating func array(_ key: String) throws(OCIError) -> [JSONValue]? {
        guard let value = try take(key) else { return nil }
        guard case .array(let items) = value else { throw OCIError("\(name(key)): must be an array") }
        return items
    }

    mutating func strings(_ key: String) throws(OCIError) -> [String]? {
        guard let items = try array(key) else { return nil }
        return try items.map { item throws(OCIError) in
            guard case .string(let text) = item else { throw OCIError("\(name(key)): strings only") }
            return text
        }
    }

    mutating func object(_ key: String) throws(OCIError) -> Fields? {
        guard let value = try take(key) else { return nil }
        return try Fields(value, path: name(key))
    }

    mutating func stringMap(_ key: String) throws(OCIError) -> [String: String] {
        guard let value = try take(key) else { return [:] }
        guard case .object(let entries) = value else { throw OCIError("\(name(key)): must be an object") }
        var result: [String: String] = [:]
        for (entryKey, entry) in entries {
            guard case .string(let text) = entry else { throw OCIError("\(name(key)).\(entryKey): must be a string") }
            result[entryKey] = text
        }
        return result
    }

    /// Refuses the first key nobody took.
    func finish() throws(OCIError) {
        if let unknown = values.keys.sorted().first(where: { !taken.contains($0) }) {
            throw OCIError("\(name(unknown)): not supported by contain (yet), and not ignored")
        }
    }
}
