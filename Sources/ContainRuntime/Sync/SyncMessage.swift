/// The messages between `contain` (the parent) and the container's init (the re-executed
/// `/proc/self/exe`, PID 1 of the new namespaces), over a SOCK_SEQPACKET socketpair whose
/// child end is fd 3 in the init and close-on-exec there.
///
/// | # | direction      | message                      | meaning                                              |
/// |---|----------------|------------------------------|------------------------------------------------------|
/// | 1 | parent → init  | `config(InitConfig)`         | the ContainerConfig and the InitPlan, tagged         |
/// |   |                |                              | (parent: cgroup placement, later network wiring)     |
/// | 2 | parent → init  | `proceed`                    | the init is in its cgroup: it sets itself up         |
/// | 3 | init → parent  | `progress(line)`             | zero or more progress lines for stderr               |
/// | 4 | init → parent  | `failed(op, path, errno)`    | setup failed; the init exits 125 (errno 0: not a     |
/// |   |                |                              | system call; op is the whole message)                |
/// | 5 | init → parent  | `execFailed(command, errno)` | the command could not be run; the init exits 126/127 |
/// | 6 | init → parent  | `ready`                      | created: set up, the command found; waiting for 7    |
/// | 7 | parent → init  | `start`                      | exec the command now                                 |
/// | 1'| parent → helper| `exec(ExecConfig)`           | exec's helper: the configuration's process part,     |
/// |   |                |                              | instead of 1; then 2, and no 6/7                     |
/// | 9 | init → parent  | `terminal` + pty master fd   | `-t`: the container's terminal, before 6 (or exec)   |
/// |10 | parent → init  | `networks(InitNetworks)`     | bridge networks (the plan says they follow): the     |
/// |   |                |                              | veths are in the namespace; sent while the init      |
/// |   |                |                              | builds its rootfs, awaited after its mounts          |
/// | – | init → parent  | end of file                  | execve succeeded: the socket closed on exec          |
///
/// The init waits for 1, 2, 10 when its plan says networks follow, and (after 6) 7, and treats
/// anything else (or EOF: the parent died)
/// as fatal. For `contain run` the plan says to start at once: the init sends 6 and execs
/// without waiting for 7; `contain create` leaves the init waiting at 6 until `contain start`. exec's helper skips 6 and 7. The parent treats an
/// unexpected message as an error naming what it expected and what came.
public enum SyncMessage: Equatable, Sendable {
    case config(InitConfig)
    case proceed
    case progress(String)
    case failed(operation: String, path: String?, errno: Int32)
    case execFailed(command: String, errno: Int32)
    case ready
    case start
    /// parent → exec helper: the process part of the configuration, and the container's
    /// seccomp filter (instead of 1).
    case exec(ExecConfig)
    /// init → parent (`-t`): the pty master of the container's terminal comes with it.
    case terminal
    /// parent → init: its bridge networks' addresses, once the veths are in its namespace.
    case networks(InitNetworks)

    var kind: UInt8 {
        switch self {
        case .config: return 1
        case .proceed: return 2
        case .progress: return 3
        case .failed: return 4
        case .execFailed: return 5
        case .ready: return 6
        case .start: return 7
        case .exec: return 8
        case .terminal: return 9
        case .networks: return 10
        }
    }

    public var name: String {
        switch self {
        case .config: return "config"
        case .proceed: return "proceed"
        case .progress: return "progress"
        case .failed: return "failed"
        case .execFailed: return "exec-failed"
        case .ready: return "ready"
        case .start: return "start"
        case .exec: return "exec"
        case .terminal: return "terminal"
        case .networks: return "networks"
        }
    }
}

/// What the init needs to turn itself into the container's command: the container's one
/// configuration, and what the runtime prepared for it on the host (the plan).
public struct InitConfig: Equatable, Sendable {
    public var container: ContainerConfig
    public var plan: InitPlan

    public init(container: ContainerConfig, plan: InitPlan) {
        self.container = container
        self.plan = plan
    }

    /// Whether the init waits for `proceed` before it sets anything up: while the parent must
    /// still place it in its cgroups or run a prestart or createRuntime hook. A sent
    /// configuration is always followed by `proceed`; an inherited one (a forked init's) only
    /// when the parent has something to do: not when the init joins its cgroups itself (v1) or
    /// was born in its cgroup (v2), so it starts on its rootfs as soon as it is cloned. Both
    /// sides ask this, so `proceed` is sent exactly when it is awaited.
    public func awaitsProceed(inherited: Bool, bornInCgroup: Bool) -> Bool {
        guard inherited else { return true }
        let hooks = container.hooks
        if !(hooks?.prestart ?? []).isEmpty || !(hooks?.createRuntime ?? []).isEmpty { return true }
        return plan.joinCgroups.isEmpty && !bornInCgroup
    }
}

/// What the runtime made on the host for one init: paths resolved, files generated, the
/// network's addresses. Derived, never asked for: the configuration says what is wanted.
public struct InitPlan: Equatable, Sendable {
    /// The rootfs as the user typed it, for messages (the configuration's root.path is resolved).
    public var rootfsDisplay: String
    /// unshare(CLONE_NEWCGROUP) once inside the cgroup.
    public var newCgroupNamespace: Bool
    /// cgroup v2 host: its own cgroup read-only at /sys/fs/cgroup.
    public var mountCgroup2: Bool
    public var reportProgress: Bool
    /// Bridge networks follow in a message of their own (10): the parent wires them while the
    /// init builds its rootfs, and the init configures them from inside after its mounts.
    public var networksFollow: Bool
    /// cgroup v1 directories the init moves itself into (`0` into each `tasks`: a thread moving
    /// itself, which the kernel does without the global lock a process migration takes, and
    /// its RCU grace period of several ms), first thing after `proceed`. Empty: the parent
    /// placed it (cgroup v2 at clone, or before a runtime hook that must see it placed).
    public var joinCgroups: [String]
    /// Files bound over files of the rootfs before the pivot (generated /etc/hosts, ...).
    public var bindFiles: [BindFile]
    /// Copy-on-write: an overlay with the rootfs as its lower layer (nil: the rootfs itself).
    public var overlay: OverlayDirectories?
    /// `contain run`: exec right after reporting `ready`, without waiting for `start` (one
    /// round trip less on every start); `contain create` leaves it false.
    public var startAtOnce: Bool
    /// The configuration's seccomp filter, compiled (and cached) by the runtime.
    public var seccompProgram: SeccompProgram?
    /// cgroup v1 host with a cgroup namespace: the hierarchies the container joined, each
    /// `NAME=CONTROLLERS` (`memory=memory`, `cpu,cpuacct=cpu,cpuacct`), mounted read-only at
    /// /sys/fs/cgroup/NAME, where each shows the container's own cgroup as its root.
    public var cgroupV1Hierarchies: [String]
    /// contain-oci's `create` for an engine: the record's start FIFO, which the init (nobody
    /// supervises it) opens before the pivot and reads once `ready`, instead of awaiting
    /// `start` over this channel (runc's exec FIFO, the other way round).
    public var startFIFO: String?
    /// config.json's hooks that the init runs (createContainer, startContainer): the state
    /// JSON each reads, `creating` then `created`.
    public var hookStates: [String]

    public init(rootfsDisplay: String, newCgroupNamespace: Bool = false, mountCgroup2: Bool = false, reportProgress: Bool = false,
                networksFollow: Bool = false, bindFiles: [BindFile] = [], overlay: OverlayDirectories? = nil,
                startAtOnce: Bool = false, seccompProgram: SeccompProgram? = nil, cgroupV1Hierarchies: [String] = [],
                startFIFO: String? = nil, hookStates: [String] = [], joinCgroups: [String] = []) {
        self.joinCgroups = joinCgroups
        self.startFIFO = startFIFO
        self.hookStates = hookStates
        self.cgroupV1Hierarchies = cgroupV1Hierarchies
        self.rootfsDisplay = rootfsDisplay
        self.newCgroupNamespace = newCgroupNamespace
        self.mountCgroup2 = mountCgroup2
        self.reportProgress = reportProgress
        self.networksFollow = networksFollow
        self.bindFiles = bindFiles
        self.overlay = overlay
        self.startAtOnce = startAtOnce
        self.seccompProgram = seccompProgram
    }
}

/// What exec's helper runs: the process part of the configuration (the container's
/// capabilities and no_new_privs in it) and the container's seccomp filter, compiled.
public struct ExecConfig: Equatable, Sendable {
    public var process: ContainerConfig.Process
    public var seccompProgram: SeccompProgram?
    /// contain-oci `exec --detach`: the helper outlives the exec that started it (no parent
    /// death signal), reaped by the engine, its caller's subreaper.
    public var detached: Bool
    public init(process: ContainerConfig.Process, seccompProgram: SeccompProgram? = nil, detached: Bool = false) {
        self.process = process
        self.seccompProgram = seccompProgram
        self.detached = detached
    }
}

extension ExecConfig: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case process = 1, seccompProgram = 2, detached = 3 }
    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.process, process)
        w.field(.seccompProgram, seccompProgram)
        w.field(.detached, detached)
    }
    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(process: try r.required(.process), seccompProgram: try r.optional(.seccompProgram),
                  detached: try r.optional(.detached) ?? false)
    }
}

/// The container's side of a bridge network, configured by the init inside its namespace.
public struct InitNetwork: Equatable, Sendable {
    public var interface: String
    public var address: String        // dotted quad
    public var prefix: Int32
    public var gateway: String?       // nil: no default route (internal networks)
    /// On a dual-stack network: its IPv6 address, prefix and default route's gateway.
    public var address6: String?
    public var prefix6: Int32 = 0
    public var gateway6: String?

    public init(interface: String, address: String, prefix: Int32, gateway: String?) {
        self.interface = interface
        self.address = address
        self.prefix = prefix
        self.gateway = gateway
    }
}

/// The container's bridge networks as its init configures them: eth0 (with the default route)
/// first, then eth1 ... without one.
public struct InitNetworks: Equatable, Sendable {
    public var networks: [InitNetwork]
    public init(_ networks: [InitNetwork]) { self.networks = networks }
}

/// The overlay's directories, in the container's state: upper and work layers and the mount point.
public struct OverlayDirectories: Equatable, Sendable {
    public var upper: String
    public var work: String
    public var merged: String
    public init(upper: String, work: String, merged: String) { self.upper = upper; self.work = work; self.merged = merged }
}

public struct BindFile: Equatable, Sendable {
    public var source: String         // on the host
    public var target: String         // absolute, inside the rootfs
    public init(source: String, target: String) { self.source = source; self.target = target }
}

// MARK: - Tagged encodings (see Config/TaggedEncoding.swift): a field added is a member and a tag.

extension InitConfig: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case container = 1, plan = 2 }
    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.container, container)
        w.field(.plan, plan)
    }
    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(container: try r.required(.container), plan: try r.required(.plan))
    }
}

extension InitPlan: TaggedMessage {
    public enum Tag: UInt16, FieldTag {
        // 5 and 11 were the networks, before they followed in a message of their own.
        case rootfsDisplay = 1, newCgroupNamespace = 2, mountCgroup2 = 3, reportProgress = 4, bindFiles = 6
        case overlay = 7, startAtOnce = 8, seccompProgram = 9, cgroupV1Hierarchies = 10, startFIFO = 12, hookStates = 13
        case networksFollow = 14, joinCgroups = 15
    }
    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.rootfsDisplay, rootfsDisplay)
        w.field(.newCgroupNamespace, newCgroupNamespace)
        w.field(.mountCgroup2, mountCgroup2)
        w.field(.reportProgress, reportProgress)
        w.fields(.bindFiles, bindFiles)
        w.field(.overlay, overlay)
        w.field(.startAtOnce, startAtOnce)
        w.field(.seccompProgram, seccompProgram)
        w.fields(.cgroupV1Hierarchies, cgroupV1Hierarchies)
        w.field(.startFIFO, startFIFO)
        w.fields(.hookStates, hookStates)
        w.field(.networksFollow, networksFollow)
        w.fields(.joinCgroups, joinCgroups)
    }
    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(rootfsDisplay: try r.required(.rootfsDisplay), newCgroupNamespace: try r.required(.newCgroupNamespace),
                  mountCgroup2: try r.required(.mountCgroup2), reportProgress: try r.required(.reportProgress),
                  networksFollow: try r.optional(.networksFollow) ?? false, bindFiles: try r.repeated(.bindFiles), overlay: try r.optional(.overlay),
                  startAtOnce: try r.required(.startAtOnce), seccompProgram: try r.optional(.seccompProgram),
                  cgroupV1Hierarchies: try r.repeated(.cgroupV1Hierarchies), startFIFO: try r.optional(.startFIFO), hookStates: try r.repeated(.hookStates),
                  joinCgroups: try r.repeated(.joinCgroups))
    }
}

extension InitNetworks: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case networks = 1 }
    public func encode(to w: inout TaggedWriter<Tag>) {
        w.fields(.networks, networks)
    }
    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(try r.repeated(.networks))
    }
}

extension InitNetwork: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case interface = 1, address = 2, prefix = 3, gateway = 4, address6 = 5, prefix6 = 6, gateway6 = 7 }
    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.interface, interface)
        w.field(.address, address)
        w.field(.prefix, prefix)
        w.field(.gateway, gateway)
        w.field(.address6, address6)
        w.field(.prefix6, prefix6)
        w.field(.gateway6, gateway6)
    }
    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(interface: try r.required(.interface), address: try r.required(.address), prefix: try r.required(.prefix),
                  gateway: try r.optional(.gateway))
        address6 = try r.optional(.address6)
        prefix6 = try r.optional(.prefix6) ?? 0
        gateway6 = try r.optional(.gateway6)
    }
}

extension OverlayDirectories: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case upper = 1, work = 2, merged = 3 }
    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.upper, upper)
        w.field(.work, work)
        w.field(.merged, merged)
    }
    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(upper: try r.required(.upper), work: try r.required(.work), merged: try r.required(.merged))
    }
}

extension BindFile: TaggedMessage {
    public enum Tag: UInt16, FieldTag { case source = 1, target = 2 }
    public func encode(to w: inout TaggedWriter<Tag>) {
        w.field(.source, source)
        w.field(.target, target)
    }
    public init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        self.init(source: try r.required(.source), target: try r.required(.target))
    }
}

public struct SyncDecodingError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

// MARK: - Wire format: a kind byte, then fields: u32 little-endian lengths and counts,
// i32 values, strings as length + UTF-8 bytes, optional strings as a presence byte first.

extension SyncMessage {
    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.byte(kind)
        switch self {
        case .config(let c):
            w.bytes += c.encoded()
        case .exec(let exec):
            w.bytes += exec.encoded()
        case .networks(let networks):
            w.bytes += networks.encoded()
        case .proceed, .ready, .start, .terminal:
            break
        case .progress(let line):
            w.string(line)
        case .failed(let operation, let path, let errno):
            w.string(operation); w.optionalString(path); w.int32(errno)
        case .execFailed(let command, let errno):
            w.string(command); w.int32(errno)
        }
        return w.bytes
    }

    /// A tagged payload after the kind byte; its errors name the field that is wrong.
    private static func decodeTagged<Message: TaggedMessage>(_ bytes: [UInt8], as: Message.Type) throws -> Message {
        do {
            return try Message(payload: bytes[1...], path: TaggedPath(root: Message.self))
        } catch {
            throw SyncDecodingError(description: "sync message: \(error)")
        }
    }

    public init(decoding bytes: [UInt8]) throws {
        var r = ByteReader(bytes: bytes)
        let kind = try r.byte()
        switch kind {
        case 1:
            self = .config(try Self.decodeTagged(bytes, as: InitConfig.self))
            return
        case 2: self = .proceed
        case 3: self = .progress(try r.string())
        case 4: self = .failed(operation: try r.string(), path: try r.optionalString(), errno: try r.int32())
        case 5: self = .execFailed(command: try r.string(), errno: try r.int32())
        case 6: self = .ready
        case 7: self = .start
        case 9: self = .terminal
        case 8:
            self = .exec(try Self.decodeTagged(bytes, as: ExecConfig.self))
            return
        case 10:
            self = .networks(try Self.decodeTagged(bytes, as: InitNetworks.self))
            return
        default: throw SyncDecodingError(description: "unknown sync message kind \(kind)")
        }
        guard r.atEnd else { throw SyncDecodingError(description: "trailing bytes after sync message kind \(kind)") }
    }
}

struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func byte(_ b: UInt8) { bytes.append(b) }
    mutating func uint32(_ v: UInt32) { for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(shift))) } }
    mutating func int32(_ v: Int32) { uint32(UInt32(bitPattern: v)) }
    mutating func string(_ s: String) { uint32(UInt32(s.utf8.count)); bytes.append(contentsOf: s.utf8) }
    mutating func optionalString(_ s: String?) { if let s { byte(1); string(s) } else { byte(0) } }
    mutating func strings(_ list: [String]) { uint32(UInt32(list.count)); for s in list { string(s) } }
}

struct ByteReader {
    let bytes: [UInt8]
    var offset = 0
    var atEnd: Bool { offset == bytes.count }

    private func short() -> SyncDecodingError { SyncDecodingError(description: "sync message ends early at byte \(offset)") }

    mutating func byte() throws -> UInt8 {
        guard offset < bytes.count else { throw short() }
        defer { offset += 1 }
        return bytes[offset]
    }
    mutating func uint32() throws -> UInt32 {
        guard bytes.count - offset >= 4 else { throw short() }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[offset + i]) << UInt32(8 * i) }
        offset += 4
        return v
    }
    mutating func int32() throws -> Int32 { Int32(bitPattern: try uint32()) }
    mutating func string() throws -> String {
        let n = Int(try uint32())
        guard bytes.count - offset >= n else { throw short() }
        defer { offset += n }
        return String(decoding: bytes[offset..<offset + n], as: UTF8.self)
    }
    mutating func optionalString() throws -> String? { try byte() == 0 ? nil : try string() }
    mutating func strings() throws -> [String] {
        let n = Int(try uint32())
        guard n <= bytes.count - offset else { throw short() }
        return try (0..<n).map { _ in try string() }
    }
}
