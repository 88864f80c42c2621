#if canImport(Glibc)
import Glibc
#endif
import ContainSystem

/// `-v HOSTPATH:CTRPATH[:ro]`: a host path bound into the container; `-v NAME:CTRPATH[:ro]`
/// (a source without `/` that does not start with `.`): a named volume (VolumeStore).
public struct VolumeSpec: Equatable, Sendable, CustomStringConvertible {
    public var source: String      // a host path, or a volume's name
    public var target: String      // absolute, inside the container
    public var readOnly: Bool
    /// `source` names a volume.
    public var named: Bool
    /// A missing host directory is made (`-v`, as docker does), or is an error (`--mount`).
    public var createMissingSource: Bool
    /// MS_NOSUID, MS_NODEV, MS_NOEXEC asked for the bind (an OCI mount's options).
    public var flags: UInt = 0
    /// The mounts below the source come too (`rbind`, docker's binds); `bind` alone: not.
    public var recursive = true

    public init(source: String, target: String, readOnly: Bool, named: Bool = false, createMissingSource: Bool = false) {
        self.source = source
        self.target = target
        self.readOnly = readOnly
        self.named = named
        self.createMissingSource = createMissingSource
    }

    /// Whether `-v`'s source names a volume rather than a host path.
    static func isVolumeName(_ source: String) -> Bool { !source.contains("/") && !source.hasPrefix(".") }

    /// Checks the container path: absolute, no `..`.
    static func validateTarget(_ target: String, flag: String, text: String) throws(SpecError) {
        guard target.hasPrefix("/") else {
            throw SpecError("invalid \(flag) `\(text)`: the container path `\(target)` must be absolute")
        }
        guard target.split(separator: "/").allSatisfy({ $0 != ".." }) else {
            throw SpecError("invalid \(flag) `\(text)`: the container path must not contain `..`")
        }
    }

    /// Parses the flag; the host path's existence is checked by the runner.
    public init(parsing text: String) throws(SpecError) {
        var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var readOnly = false
        if parts.count == 3 {
            switch parts[2] {
            case "ro": readOnly = true
            case "rw": readOnly = false
            default: throw SpecError("invalid -v `\(text)`: the mode must be ro or rw")
            }
            parts.removeLast()
        }
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw SpecError("invalid -v `\(text)`: expected HOSTPATH:CTRPATH[:ro]")
        }
        try Self.validateTarget(parts[1], flag: "-v", text: text)
        let named = Self.isVolumeName(parts[0])
        if named { _ = try VolumeStore.validateName(parts[0]) }
        self.init(source: parts[0], target: parts[1], readOnly: readOnly, named: named, createMissingSource: !named)
    }

    public var description: String { "\(source):\(target)\(readOnly ? ":ro" : "")" }
}

/// `--mount type=bind|volume|tmpfs,source=...,target=...[,readonly]`, docker's long form.
/// Keys: `type` (default volume), `source`/`src`, `target`/`destination`/`dst`,
/// `readonly`/`ro` (alone or `=true|false|1|0`), `volume-nocopy` (accepted: contain never copies
/// into a new volume), `bind-propagation=rprivate` (the only one contain makes),
/// `tmpfs-size=BYTES`, `tmpfs-mode=OCTAL`. Unlike `-v`, a bind's missing source is an error.
public enum MountFlag: Equatable, Sendable {
    case volume(VolumeSpec)
    case tmpfs(TmpfsSpec)

    public init(parsing text: String) throws(SpecError) {
        func fail(_ why: String) -> SpecError { SpecError("invalid --mount `\(text)`: \(why)") }
        var type = "volume", source: String?, target: String?, readOnly = false
        var tmpfsOptions: [String] = []
        for field in text.split(separator: ",", omittingEmptySubsequences: false) {
            let kv = field.split(separator: "=", maxSplits: 1).map(String.init)
            guard let key = kv.first, !key.isEmpty else { throw fail("empty field") }
            let value = kv.count == 2 ? kv[1] : nil
            switch key {
            case "type":
                guard let value, ["bind", "volume", "tmpfs"].contains(value) else { throw fail("type must be bind, volume or tmpfs") }
                type = value
            case "source", "src":
                guard let value, !value.isEmpty else { throw fail("\(key) needs a value") }
                source = value
            case "target", "destination", "dst":
                guard let value, !value.isEmpty else { throw fail("\(key) needs a value") }
                target = value
            case "readonly", "ro":
                switch value {
                case nil, "true", "1": readOnly = true
                case "false", "0": readOnly = false
                default: throw fail("\(key) is true or false")
                }
            case "volume-nocopy":
                break
            case "bind-propagation":
                guard value == "rprivate" || value == "private" else { throw fail("only private bind propagation is supported") }
            case "tmpfs-size":
                guard let value, let size = try? ByteSize(parsing: value), size.bytes > 0 else { throw fail("tmpfs-size is a size such as 64m") }
                tmpfsOptions.append("size=\(size.bytes)")
            case "tmpfs-mode":
                guard let value, let mode = UInt32(value, radix: 8), mode <= 0o7777 else { throw fail("tmpfs-mode is an octal mode such as 1777") }
                tmpfsOptions.append("mode=" + String(mode, radix: 8))
            default:
                throw fail("unknown key `\(key)`")
            }
        }
        guard let target else { throw fail("target is required") }
        try VolumeSpec.validateTarget(target, flag: "--mount", text: text)
        switch type {
        case "tmpfs":
            guard source == nil else { throw fail("a tmpfs has no source") }
            guard target != "/" else { throw fail("a tmpfs cannot be the root") }
            self = .tmpfs(TmpfsSpec(target: target, options: tmpfsOptions + (readOnly ? ["ro"] : [])))
        case "bind":
            guard let source else { throw fail("a bind mount needs a source") }
            guard source.hasPrefix("/") else { throw fail("the bind source `\(source)` must be an absolute path") }
            guard tmpfsOptions.isEmpty else { throw fail("tmpfs-* options need type=tmpfs") }
            self = .volume(VolumeSpec(source: source, target: target, readOnly: readOnly))
        default:
            guard let source else { throw fail("a volume needs a name (source=NAME)") }
            guard tmpfsOptions.isEmpty else { throw fail("tmpfs-* options need type=tmpfs") }
            self = .volume(VolumeSpec(source: try VolumeStore.validateName(source), target: target, readOnly: readOnly, named: true))
        }
    }
}

/// `-e KEY=VALUE` and `--env-file FILE` entries.
public enum EnvironmentEntries {
    /// The caller's environment, looked up by name (`-e KEY` takes the value from it).
    public typealias Lookup = (String) -> String?
    public static func callersEnvironment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

    /// `KEY=VALUE` as it is; a bare `KEY` takes its value from the caller's environment, and is
    /// left out when the caller has none (docker's rule). nil: left out.
    public static func resolve(_ entry: String, origin: String = "-e",
                               lookup: Lookup = callersEnvironment) throws(SpecError) -> String? {
        if !entry.contains("=") {
            guard !entry.isEmpty, entry.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
                throw SpecError("invalid \(origin) `\(entry)`: expected KEY=VALUE or KEY")
            }
            return lookup(entry).map { entry + "=" + $0 }
        }
        return try validate(entry, origin: origin)
    }

    public static func validate(_ entry: String, origin: String = "-e") throws(SpecError) -> String {
        guard let eq = entry.firstIndex(of: "="), eq != entry.startIndex else {
            throw SpecError("invalid \(origin) `\(entry)`: expected KEY=VALUE or KEY")
        }
        let key = entry[..<eq]
        guard key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw SpecError("invalid \(origin) `\(entry)`: the name must be printable ASCII without spaces")
        }
        return entry
    }

    /// docker's env-file format: one KEY=VALUE (or bare KEY, from the caller's environment)
    /// per line; blank lines and `#` comments skipped.
    public static func parseFile(_ text: String, path: String, lookup: Lookup = callersEnvironment) throws(SpecError) -> [String] {
        var entries: [String] = []
        // "\r\n" is one Character in Swift: split on both.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (number, line) in lines.enumerated() {
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            if let entry = try resolve(String(trimmed), origin: "--env-file \(path) line \(number + 1)", lookup: lookup) {
                entries.append(entry)
            }
        }
        return entries
    }
}

/// `-u UID[:GID]` or `-u NAME[:GROUP]`: names are looked up in the container's own
/// /etc/passwd and /etc/group, after the pivot.
public struct UserSpec: Equatable, Sendable, CustomStringConvertible {
    public var user: String
    public var group: String?

    public init(user: String, group: String?) { self.user = user; self.group = group }

    public init(parsing text: String) throws(SpecError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && !$0.contains("/") }) else {
            throw SpecError("invalid -u `\(text)`: expected UID[:GID] or NAME[:GROUP]")
        }
        self.init(user: parts[0], group: parts.count == 2 ? parts[1] : nil)
    }

    public var description: String { user + (group.map { ":" + $0 } ?? "") }
}

/// `--tmpfs PATH[:OPTIONS]`: OPTIONS as mount(8) spells them (`size=64m,mode=1777,exec`).
public struct TmpfsSpec: Equatable, Sendable {
    public var target: String
    public var options: [String]

    public init(target: String, options: [String]) {
        self.target = target
        self.options = options
    }

    public init(parsing text: String) throws(SpecError) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard let target = parts.first, target.hasPrefix("/"), target != "/" else {
            throw SpecError("invalid --tmpfs `\(text)`: expected an absolute container path, e.g. /run:size=64m")
        }
        self.target = target
        options = parts.count == 2 ? parts[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init) : []
        for option in options where option.isEmpty || option.contains(" ") {
            throw SpecError("invalid --tmpfs `\(text)`: bad option `\(option)`")
        }
    }

    /// The access-time and sync options mount(2) takes as flags.
    public static let timeFlags: [String: UInt] = [
        "strictatime": UInt(MS_STRICTATIME), "relatime": UInt(MS_RELATIME), "noatime": UInt(MS_NOATIME),
        "nodiratime": UInt(MS_NODIRATIME), "sync": UInt(MS_SYNCHRONOUS), "dirsync": UInt(MS_DIRSYNC),
    ]

    /// mount(2)'s flags and data for these options: docker's defaults (noexec, nosuid, nodev)
    /// unless an option says otherwise; anything not a flag (size=, mode=, nr_inodes=) is data.
    /// `private`/`rprivate` (every mount of a container is private) and `tmpcopyup` (done by
    /// the mount's maker) are not mount(2)'s.
    public static func mountArguments(_ options: [String]) -> (flags: UInt, data: String) {
        var noexec = true, nosuid = true, nodev = true, readOnly = false
        var data: [String] = []
        var more: UInt = 0
        for option in options {
            if let flag = timeFlags[option] {
                more |= flag
                continue
            }
            switch option {
            case "private", "rprivate", "tmpcopyup": break
            case "exec": noexec = false
            case "noexec": noexec = true
            case "suid": nosuid = false
            case "nosuid": nosuid = true
            case "dev": nodev = false
            case "nodev": nodev = true
            case "ro": readOnly = true
            case "rw": readOnly = false
            case "tmpfs": break
            default: data.append(option)
            }
        }
        var flags = more
        if noexec { flags |= UInt(MS_NOEXEC) }
        if nosuid { flags |= UInt(MS_NOSUID) }
        if nodev { flags |= UInt(MS_NODEV) }
        if readOnly { flags |= UInt(MS_RDONLY) }
        return (flags, data.joined(separator: ","))
    }
}

/// `--ulimit NAME=SOFT[:HARD]` as docker takes it (`nofile=1024:2048`, `core=0`, `nproc=-1`).
public enum Ulimits {
    public static let names: [String: String] = [
        "as": "RLIMIT_AS", "core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU", "data": "RLIMIT_DATA", "fsize": "RLIMIT_FSIZE",
        "locks": "RLIMIT_LOCKS", "memlock": "RLIMIT_MEMLOCK", "msgqueue": "RLIMIT_MSGQUEUE", "nice": "RLIMIT_NICE",
        "nofile": "RLIMIT_NOFILE", "nproc": "RLIMIT_NPROC", "rss": "RLIMIT_RSS", "rtprio": "RLIMIT_RTPRIO",
        "rttime": "RLIMIT_RTTIME", "sigpending": "RLIMIT_SIGPENDING", "stack": "RLIMIT_STACK",
    ]
    static let numbers: [String: Int32] = [
        "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4, "RLIMIT_RSS": 5,
        "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9, "RLIMIT_LOCKS": 10,
        "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13, "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
    ]

    public static func parse(_ text: String) throws(SpecError) -> ContainerConfig.Process.Rlimit {
        func fail() -> SpecError { SpecError("invalid --ulimit `\(text)`: expected NAME=SOFT[:HARD], e.g. nofile=1024:2048") }
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let type = names[parts[0]] else { throw fail() }
        func value(_ v: Substring) throws(SpecError) -> UInt64 {
            if v == "-1" || v == "unlimited" { return UInt64.max }
            guard let n = UInt64(v) else { throw fail() }
            return n
        }
        let values = parts[1].split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(values.count) else { throw fail() }
        let soft = try value(values[0]), hard = values.count == 2 ? try value(values[1]) : soft
        guard soft <= hard else { throw SpecError("invalid --ulimit `\(text)`: the soft limit is above the hard one") }
        return ContainerConfig.Process.Rlimit(type: type, hard: hard, soft: soft)
    }

    /// setrlimit(2) of each, while the init may still raise a hard limit (CAP_SYS_RESOURCE).
    static func apply(_ limits: [ContainerConfig.Process.Rlimit]) throws {
        for limit in limits {
            guard let resource = numbers[limit.type] else { throw SpecError("rlimit `\(limit.type)`: unknown") }
            var value = rlimit(rlim_cur: rlim_t(limit.soft), rlim_max: rlim_t(limit.hard))
            try sys("setrlimit", path: limit.type) { setrlimit(__rlimit_resource_t(UInt32(resource)), &value) }
        }
    }
}
