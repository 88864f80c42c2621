// ContainerConfig's tagged encoding (see TaggedEncoding.swift): every type a message, each
// field a tag. Tag numbers are the wire format: add new ones at the end, never renumber or
// reuse one. Non-optional scalars and structs are always written and required when decoding;
// a field added later that older writers lack is read with `r.value(_:default:)`.
//
// `ContainerConfig(decoding:)` and `.encoded()`, and the same on `ContainerConfig.Process`
// alone (what `exec` receives), come from TaggedMessage.

extension ContainerConfig: TaggedMessage {
    public enum Tag: UInt16, FieldTag {
        case ociVersion = 1, process = 2, root = 3, hostname = 4, mounts = 5, hooks = 6, annotations = 7
        case linux = 8, contain = 9
    }

    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.ociVersion, ociVersion)
        w.field(.process, process)
        w.field(.root, root)
        w.field(.hostname, hostname)
        w.fields(.mounts, mounts)
        w.field(.hooks, hooks)
        w.entries(.annotations, annotations)
        w.field(.linux, linux)
        w.field(.contain, contain)
    }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(ociVersion: try r.required(.ociVersion), process: try r.required(.process), root: try r.required(.root),
                  hostname: try r.optional(.hostname), mounts: try r.repeated(.mounts), hooks: try r.optional(.hooks),
                  annotations: try r.entries(.annotations), linux: try r.required(.linux), contain: try r.required(.contain))
    }
}

// MARK: - process

extension ContainerConfig.Process: TaggedMessage {
    public enum Tag: UInt16, FieldTag {
        case terminal = 1, user = 2, args = 3, env = 4, cwd = 5, capabilities = 6, rlimits = 7
        case noNewPrivileges = 8, oomScoreAdj = 9
    }

    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.terminal, terminal)
        w.field(.user, user)
        w.fields(.args, args)
        w.fields(.env, env)
        w.field(.cwd, cwd)
        w.field(.capabilities, capabilities)
        w.fields(.rlimits, rlimits)
        w.field(.noNewPrivileges, noNewPrivileges)
        w.field(.oomScoreAdj, oomScoreAdj)
    }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(terminal: try r.required(.terminal), user: try r.required(.user), args: try r.repeated(.args),
                  env: try r.repeated(.env), cwd: try r.required(.cwd), capabilities: try r.optional(.capabilities),
                  rlimits: try r.repeated(.rlimits), noNewPrivileges: try r.required(.noNewPrivileges),
                  oomScoreAdj: try r.optional(.oomScoreAdj))
    }
}

extension ContainerConfig.Process.User: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case uid = 1, gid = 2, additionalGids = 3, username = 4, groupname = 5, additionalGroupNames = 6, umask = 7 }

    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.uid, uid)
        w.field(.gid, gid)
        w.fields(.additionalGids, additionalGids)
        w.field(.username, username)
        w.field(.groupname, groupname)
        w.fields(.additionalGroupNames, additionalGroupNames)
        w.field(.umask, umask)
    }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(uid: try r.required(.uid), gid: try r.required(.gid), additionalGids: try r.repeated(.additionalGids),
                  username: try r.optional(.username), groupname: try r.optional(.groupname),
                  additionalGroupNames: try r.repeated(.additionalGroupNames), umask: try r.optional(.umask))
    }
}

extension ContainerConfig.Process.Capabilities: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case bounding = 1, effective = 2, inheritable = 3, permitted = 4, ambient = 5 }

    public func encode(to w: inout TaggedWriter<Tag>) {
        w.fields(.bounding, bounding)
        w.fields(.effective, effective)
        w.fields(.inheritable, inheritable)
        w.fields(.permitted, permitted)
        w.fields(.ambient, ambient)
    }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(bounding: try r.repeated(.bounding), effective: try r.repeated(.effective),
                  inheritable: try r.repeated(.inheritable), permitted: try r.repeated(.permitted),
                  ambient: try r.repeated(.ambient))
    }
}

extension ContainerConfig.Process.Rlimit: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case type = 1, hard = 2, soft = 3 }

    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.type, type)
        w.field(.hard, hard)
        w.field(.soft, soft)
    }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(type: try r.required(.type), hard: try r.required(.hard), soft: try r.required(.soft))
    }
}

// MARK: - root, mounts, hooks

extension ContainerConfig.Root: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case path = 1, readonly = 2 }

    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.path, path)
        w.field(.readonly, readonly)
    }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(path: try r.required(.path), readonly: try r.required(.readonly))
    }
}

extension ContainerConfig.Mount: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case destination = 1, type = 2, source = 3, options = 4 }

    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.destination, destination)
        w.field(.type, type)
        w.field(.source, source)
        w.fields(.options, options)
    }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(destination: try r.required(.destination), type: try r.optional(.type), source: try r.optional(.source),
                  options: try r.repeated(.options))
    }
}

extension ContainerConfig.Hooks: TaggedMessage {
    public enum Tag: UInt16, FieldTag {
        case prestart = 1, createRuntime = 2, createContainer = 3, startContainer = 4, poststart = 5, poststop = 6
    }

    public func encode(to w: inout TaggedWriter<Tag>) {
        w.fields(.prestart, prestart)
        w.fields(.createRuntime, createRuntime)
        w.fields(.createContainer, createContainer)
        w.fields(.startContainer, startContainer)
        w.fields(.poststart, poststart)
        w.fields(.poststop, poststop)
    }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(prestart: try r.repeated(.prestart), createRuntime: try r.repeated(.createRuntime),
                  createContainer: try r.repeated(.createContainer), startContainer: try r.repeated(.startContainer),
                  poststart: try r.repeated(.poststart), poststop: try r.repeated(.poststop))
    }
}

extension ContainerConfig.Hook: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case path = 1, args = 2, env = 3, timeout = 4 }

    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.path, path)
        w.fields(.args, args)
        w.fields(.env, env)
        w.field(.timeout, timeout)
    }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(path: try r.required(.path), args: try r.repeated(.args), env: try r.repeated(.env),
                  timeout: try r.optional(.timeout))
    }
}

// MARK: - linux

extension ContainerConfig.Linux: TaggedMessage {
    public enum Tag: UInt16, FieldTag {
        case namespaces = 1, resources = 2, cgroupsPath = 3, devices = 4, deviceCgroupRules = 5, maskedPaths = 6
        case readonlyPaths = 7, seccomp = 8, sysctl = 9, rootfsPropagation = 10
    }

    public func encode(to w: inout TaggedWriter<Tag>) {
        w.fields(.namespaces, namespaces)
        w.field(.resources, resources)
        w.field(.cgroupsPath, cgroupsPath)
        w.fields(.devices, devices)
        w.fields(.deviceCgroupRules, deviceCgroupRules)
        w.fields(.maskedPaths, maskedPaths)
        w.fields(.readonlyPaths, readonlyPaths)
        w.field(.seccomp, seccomp)
        w.entries(.sysctl, sysctl)
        w.field(.rootfsPropagation, rootfsPropagation)
    }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(namespaces: try r.repeated(.namespaces), resources: try r.optional(.resources),
                  cgroupsPath: try r.optional(.cgroupsPath), devices: try r.repeated(.devices),
                  deviceCgroupRules: try r.repeated(.deviceCgroupRules), maskedPaths: try r.repeated(.maskedPaths),
                  readonlyPaths: try r.repeated(.readonlyPaths), seccomp: try r.optional(.seccomp),
                  sysctl: try r.entries(.sysctl), rootfsPropagation: try r.optional(.rootfsPropagation))
    }
}

extension ContainerConfig.Linux.Namespace: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case type = 1, path = 2 }

    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.type, type)
        w.field(.path, path)
    }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(type: try r.required(.type), path: try r.optional(.path))
    }
}

extension ContainerConfig.Linux.Resources: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case memory = 1, cpu = 2, pids = 3, hugepageLimits = 4 }

    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.memory, memory)
        w.field(.cpu, cpu)
        w.field(.pids, pids)
        w.fields(.hugepageLimits, hugepageLimits)
    }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(memory: try r.optional(.memory), cpu: try r.optional(.cpu), pids: try r.optional(.pids),
                  hugepageLimits: try r.repeated(.hugepageLimits))
    }
}

extension ContainerConfig.Linux.Resources.HugepageLimit: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case pageSize = 1, limit = 2 }

    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.pageSize, pageSize)
        w.field(.limit, limit)
    }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(pageSize: try r.required(.pageSize), limit: try r.required(.limit))
    }
}

extension ContainerConfig.Linux.Resources.Memory: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case limit = 1, swap = 2, reservation = 3 }

    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.limit, limit)
        w.field(.swap, swap)
        w.field(.reservation, reservation)
    }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(limit: try r.optional(.limit), swap: try r.optional(.swap), reservation: try r.optional(.reservation))
    }
}

extension ContainerConfig.Linux.Resources.CPU: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case quota = 1, period = 2, shares = 3, cpus = 4, mems = 5 }

    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.quota, quota)
        w.field(.period, period)
        w.field(.shares, shares)
        w.field(.cpus, cpus)
        w.field(.mems, mems)
    }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(quota: try r.optional(.quota), period: try r.optional(.period), shares: try r.optional(.shares),
                  cpus: try r.optional(.cpus), mems: try r.optional(.mems))
    }
}

extension ContainerConfig.Linux.Resources.Pids: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case limit = 1 }

    public func encode(to w: inout TaggedWriter<Tag>) { w.field(.limit, limit) }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(limit: try r.required(.limit))
    }
}

extension ContainerConfig.Linux.Device: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case path = 1, type = 2, major = 3, minor = 4, fileMode = 5, uid = 6, gid = 7 }

    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.path, path)
        w.field(.type, type)
        w.field(.major, major)
        w.field(.minor, minor)
        w.field(.fileMode, fileMode)
        w.field(.uid, uid)
        w.field(.gid, gid)
    }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(path: try r.required(.path), type: try r.required(.type), major: try r.required(.major),
                  minor: try r.required(.minor), fileMode: try r.optional(.fileMode), uid: try r.optional(.uid),
                  gid: try r.optional(.gid))
    }
}

extension ContainerConfig.Linux.DeviceRule: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case allow = 1, type = 2, major = 3, minor = 4, access = 5 }

    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.allow, allow)
        w.field(.type, type)
        w.field(.major, major)
        w.field(.minor, minor)
        w.field(.access, access)
    }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(allow: try r.required(.allow), type: try r.optional(.type), major: try r.optional(.major),
                  minor: try r.optional(.minor), access: try r.optional(.access))
    }
}

extension ContainerConfig.Linux.Seccomp: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case defaultAction = 1, defaultErrnoRet = 2, architectures = 3, syscalls = 4 }

    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.defaultAction, defaultAction)
        w.field(.defaultErrnoRet, defaultErrnoRet)
        w.fields(.architectures, architectures)
        w.fields(.syscalls, syscalls)
    }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(defaultAction: try r.required(.defaultAction), defaultErrnoRet: try r.optional(.defaultErrnoRet),
                  architectures: try r.repeated(.architectures), syscalls: try r.repeated(.syscalls))
    }
}

extension ContainerConfig.Linux.Seccomp.SyscallRule: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case names = 1, action = 2, errnoRet = 3, args = 4 }

    public func encode(to w: inout TaggedWriter<Tag>) {
        w.fields(.names, names)
        w.field(.action, action)
        w.field(.errnoRet, errnoRet)
        w.fields(.args, args)
    }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(names: try r.repeated(.names), action: try r.required(.action), errnoRet: try r.optional(.errnoRet),
                  args: try r.repeated(.args))
    }
}

extension ContainerConfig.Linux.Seccomp.Arg: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case index = 1, value = 2, valueTwo = 3, op = 4 }

    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.index, index)
        w.field(.value, value)
        w.field(.valueTwo, valueTwo)
        w.field(.op, op)
    }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(index: try r.required(.index), value: try r.required(.value), valueTwo: try r.required(.valueTwo),
                  op: try r.required(.op))
    }
}

// MARK: - contain's own

extension ContainerConfig.ContainExtensions: TaggedMessage {
    public enum Tag: UInt16, FieldTag {
        case networkMode = 1, networkAttachments = 2, name = 3, runInit = 4, copyOnWrite = 5, detached = 6
        case removeWhenDone = 7, privileged = 8, seccompProfile = 9, shmSize = 10, interactive = 11, restartPolicy = 12
        case logMaxSize = 13, logMaxFiles = 14, stopSignal = 15, stopTimeout = 16, extraHosts = 17, dnsSearch = 18, dnsOptions = 19, nameFiles = 20, everyCgroupHierarchy = 21
    }

    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.networkMode, networkMode)
        w.fields(.networkAttachments, networkAttachments)
        w.field(.name, name)
        w.field(.runInit, runInit)
        w.field(.copyOnWrite, copyOnWrite)
        w.field(.detached, detached)
        w.field(.removeWhenDone, removeWhenDone)
        w.field(.privileged, privileged)
        w.field(.seccompProfile, seccompProfile)
        w.field(.shmSize, shmSize)
        w.field(.interactive, interactive)
        w.field(.restartPolicy, restartPolicy)
        w.field(.logMaxSize, logMaxSize)
        w.field(.logMaxFiles, logMaxFiles)
        w.field(.stopSignal, stopSignal)
        w.field(.stopTimeout, stopTimeout)
        w.fields(.extraHosts, extraHosts)
        w.fields(.dnsSearch, dnsSearch)
        w.fields(.dnsOptions, dnsOptions)
        w.field(.nameFiles, nameFiles)
        w.field(.everyCgroupHierarchy, everyCgroupHierarchy)
    }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(networkMode: try r.required(.networkMode), networkAttachments: try r.repeated(.networkAttachments),
                  name: try r.optional(.name), runInit: try r.required(.runInit), copyOnWrite: try r.required(.copyOnWrite),
                  detached: try r.required(.detached), removeWhenDone: try r.required(.removeWhenDone),
                  privileged: try r.required(.privileged), seccompProfile: try r.required(.seccompProfile),
                  shmSize: try r.optional(.shmSize), interactive: try r.value(.interactive, default: false),
                  restartPolicy: try r.optional(.restartPolicy), logMaxSize: try r.optional(.logMaxSize),
                  logMaxFiles: try r.optional(.logMaxFiles), stopSignal: try r.optional(.stopSignal), stopTimeout: try r.optional(.stopTimeout),
                  extraHosts: try r.repeated(.extraHosts), dnsSearch: try r.repeated(.dnsSearch), dnsOptions: try r.repeated(.dnsOptions))
        nameFiles = try r.value(.nameFiles, default: true)
        everyCgroupHierarchy = try r.value(.everyCgroupHierarchy, default: false)
    }
}

extension ContainerConfig.NetworkAttachment: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case network = 1, address = 2, ports = 3, dns = 4, aliases = 5, address6 = 6, mac = 7, impair = 8 }

    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.network, network)
        w.field(.address, address)
        w.fields(.ports, ports)
        w.fields(.dns, dns)
        w.fields(.aliases, aliases)
        w.field(.address6, address6)
        w.field(.mac, mac)
        w.field(.impair, impair)
    }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(network: try r.required(.network), address: try r.optional(.address), ports: try r.repeated(.ports),
                  dns: try r.repeated(.dns), aliases: try r.repeated(.aliases), address6: try r.optional(.address6),
                  mac: try r.optional(.mac), impair: try r.optional(.impair))
    }
}

/// `{kind = "none" | "host" | "bridge", network = NAME (bridge only)}`: explicit, so a network
/// may have any name (even `host`) without being mistaken for a mode.
extension NetworkMode: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case kind = 1, network = 2 }

    public func encode(to w: inout TaggedWriter<Tag>) {
        switch self {
        case .none: w.field(.kind, "none")
        case .host: w.field(.kind, "host")
        case .bridge(let network): w.field(.kind, "bridge"); w.field(.network, network)
        case .container(let reference): w.field(.kind, "container"); w.field(.network, reference)
        }
    }

    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        let kind: String = try r.required(.kind)
        switch kind {
        case "none": self = .none
        case "host": self = .host
        case "bridge": self = .bridge(network: try r.required(.network))
        case "container": self = .container(try r.required(.network))
        default:
            let field = r.all(.kind)[0]
            throw .invalid(path: r.fieldPath(.kind).description, offset: field.payload.startIndex, reason: "unknown network mode `\(kind)`")
        }
    }
}
