/// The messages between `contain` (the parent) and the container's init (the re-executed
/// `/proc/self/exe`, PID 1 of the new namespaces), over a SOCK_SEQPACKET socketpair whose
/// child end is fd 3 in the init and close-on-exec there.
///
/// | # | direction      | message                      | meaning                                              |
/// |---|----------------|------------------------------|------------------------------------------------------|
/// | 1 | parent → init  | `config(InitConfig)`         | what to run: rootfs, hostname, argv, env, mounts     |
/// |   |                |                              | (parent: cgroup placement, later network wiring)     |
/// | 2 | parent → init  | `proceed`                    | the init is in its cgroup and its network is ready   |
/// | 3 | init → parent  | `progress(line)`             | zero or more progress lines for stderr               |
/// | 4 | init → parent  | `failed(op, path, errno)`    | setup failed; the init exits 125                     |
/// | 5 | init → parent  | `execFailed(command, errno)` | the command could not be run; the init exits 126/127 |
/// | 6 | init → parent  | `ready`                      | created: set up, the command found; waiting for 7    |
/// | 7 | parent → init  | `start`                      | exec the command now                                  |
/// | 8 | init → parent  | end of file                  | execve succeeded: the socket closed on exec          |
///
/// The init waits for 1, 2 and (after 6) 7, and treats anything else (or EOF: the parent died)
/// as fatal. `contain run` sends 7 as soon as 6 arrives; `contain create` leaves the init
/// waiting at 6 until `contain start`. exec's helper skips 6 and 7. The parent treats an
/// unexpected message as an error naming what it expected and what came.
public enum SyncMessage: Equatable, Sendable {
    case config(InitConfig)
    case proceed
    case progress(String)
    case failed(operation: String, path: String?, errno: Int32)
    case execFailed(command: String, errno: Int32)
    case ready
    case start

    var kind: UInt8 {
        switch self {
        case .config: return 1
        case .proceed: return 2
        case .progress: return 3
        case .failed: return 4
        case .execFailed: return 5
        case .ready: return 6
        case .start: return 7
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
        }
    }
}

/// What the init needs to turn itself into the container's command.
public struct InitConfig: Equatable, Sendable {
    public var rootfs: String            // canonical absolute path
    public var rootfsDisplay: String     // as the user typed it, for messages
    public var hostname: String?
    public var argv: [String]
    public var environment: [String]
    public var bringUpLoopback: Bool     // own network namespace: `lo` up
    public var newCgroupNamespace: Bool  // unshare(CLONE_NEWCGROUP) once inside the cgroup
    public var mountCgroup2: Bool        // cgroup v2 host: its own cgroup read-only at /sys/fs/cgroup
    public var reportProgress: Bool
    /// Bridge networks: how to configure eth0 from inside (the veth is already there).
    public var network: InitNetwork?
    /// Files bound over files of the rootfs before the pivot (generated /etc/hosts, resolv.conf).
    public var bindFiles: [BindFile]
    /// Copy-on-write: an overlay with the rootfs as its lower layer (nil: the rootfs itself).
    public var overlay: OverlayDirectories?
    /// `-v`: host paths bound in, targets resolved inside the root.
    public var volumes: [VolumeSpec] = []
    /// `--read-only`: the root is remounted read-only once everything is mounted.
    public var readOnlyRoot = false
    /// `-w`: the command's working directory (created if missing).
    public var workdir: String?
    /// `-u`: who the command runs as.
    public var user: UserSpec?
    /// `--init`: stay PID 1, run the command as a child, forward signals, reap orphans.
    public var runInit = false
    /// Detached or created: the container lives on if its supervisor dies (the init drops the
    /// parent-death signal once set up); a foreground run's container dies with `contain`.
    public var outlivesRuntime = false

    public init(rootfs: String, rootfsDisplay: String, hostname: String?, argv: [String], environment: [String],
                bringUpLoopback: Bool, newCgroupNamespace: Bool, mountCgroup2: Bool = false, reportProgress: Bool,
                network: InitNetwork? = nil, bindFiles: [BindFile] = [], overlay: OverlayDirectories? = nil,
                volumes: [VolumeSpec] = [], readOnlyRoot: Bool = false, workdir: String? = nil, user: UserSpec? = nil,
                runInit: Bool = false, outlivesRuntime: Bool = false) {
        self.rootfs = rootfs
        self.rootfsDisplay = rootfsDisplay
        self.hostname = hostname
        self.argv = argv
        self.environment = environment
        self.bringUpLoopback = bringUpLoopback
        self.newCgroupNamespace = newCgroupNamespace
        self.mountCgroup2 = mountCgroup2
        self.reportProgress = reportProgress
        self.network = network
        self.bindFiles = bindFiles
        self.overlay = overlay
        self.volumes = volumes
        self.readOnlyRoot = readOnlyRoot
        self.workdir = workdir
        self.user = user
        self.runInit = runInit
        self.outlivesRuntime = outlivesRuntime
    }
}

/// The container's side of a bridge network, configured by the init inside its namespace.
public struct InitNetwork: Equatable, Sendable {
    public var interface: String
    public var address: String        // dotted quad
    public var prefix: Int32
    public var gateway: String?       // nil: no default route (internal networks)

    public init(interface: String, address: String, prefix: Int32, gateway: String?) {
        self.interface = interface
        self.address = address
        self.prefix = prefix
        self.gateway = gateway
    }
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
            w.string(c.rootfs); w.string(c.rootfsDisplay); w.optionalString(c.hostname)
            w.strings(c.argv); w.strings(c.environment)
            w.byte(c.bringUpLoopback ? 1 : 0); w.byte(c.newCgroupNamespace ? 1 : 0)
            w.byte(c.mountCgroup2 ? 1 : 0); w.byte(c.reportProgress ? 1 : 0)
            if let n = c.network {
                w.byte(1); w.string(n.interface); w.string(n.address); w.int32(n.prefix); w.optionalString(n.gateway)
            } else {
                w.byte(0)
            }
            w.strings(c.bindFiles.flatMap { [$0.source, $0.target] })
            if let o = c.overlay { w.byte(1); w.string(o.upper); w.string(o.work); w.string(o.merged) } else { w.byte(0) }
            w.uint32(UInt32(c.volumes.count))
            for v in c.volumes { w.string(v.source); w.string(v.target); w.byte(v.readOnly ? 1 : 0) }
            w.byte(c.readOnlyRoot ? 1 : 0)
            w.optionalString(c.workdir)
            w.optionalString(c.user?.user); w.optionalString(c.user?.group)
            w.byte(c.runInit ? 1 : 0)
            w.byte(c.outlivesRuntime ? 1 : 0)
        case .proceed, .ready, .start:
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

    public init(decoding bytes: [UInt8]) throws {
        var r = ByteReader(bytes: bytes)
        let kind = try r.byte()
        switch kind {
        case 1:
            var config = InitConfig(rootfs: try r.string(), rootfsDisplay: try r.string(), hostname: try r.optionalString(),
                                    argv: try r.strings(), environment: try r.strings(),
                                    bringUpLoopback: try r.byte() != 0, newCgroupNamespace: try r.byte() != 0,
                                    mountCgroup2: try r.byte() != 0, reportProgress: try r.byte() != 0)
            if try r.byte() != 0 {
                config.network = InitNetwork(interface: try r.string(), address: try r.string(), prefix: try r.int32(),
                                             gateway: try r.optionalString())
            }
            let paths = try r.strings()
            guard paths.count % 2 == 0 else { throw SyncDecodingError(description: "bind files: odd number of paths") }
            config.bindFiles = stride(from: 0, to: paths.count, by: 2).map { BindFile(source: paths[$0], target: paths[$0 + 1]) }
            if try r.byte() != 0 {
                config.overlay = OverlayDirectories(upper: try r.string(), work: try r.string(), merged: try r.string())
            }
            let volumeCount = Int(try r.uint32())
            guard volumeCount <= bytes.count else { throw SyncDecodingError(description: "volumes: bad count") }
            config.volumes = try (0..<volumeCount).map { _ in
                VolumeSpec(source: try r.string(), target: try r.string(), readOnly: try r.byte() != 0)
            }
            config.readOnlyRoot = try r.byte() != 0
            config.workdir = try r.optionalString()
            let user = try r.optionalString(), group = try r.optionalString()
            config.user = user.map { UserSpec(user: $0, group: group) }
            config.runInit = try r.byte() != 0
            config.outlivesRuntime = try r.byte() != 0
            self = .config(config)
        case 2: self = .proceed
        case 3: self = .progress(try r.string())
        case 4: self = .failed(operation: try r.string(), path: try r.optionalString(), errno: try r.int32())
        case 5: self = .execFailed(command: try r.string(), errno: try r.int32())
        case 6: self = .ready
        case 7: self = .start
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
