#if canImport(Glibc)
import Glibc
#endif
import ContainSystem

/// `-v HOSTPATH:CTRPATH[:ro]`: a host path bound into the container.
public struct VolumeSpec: Equatable, Sendable, CustomStringConvertible {
    public var source: String      // absolute, on the host
    public var target: String      // absolute, inside the container
    public var readOnly: Bool

    public init(source: String, target: String, readOnly: Bool) {
        self.source = source
        self.target = target
        self.readOnly = readOnly
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
        guard parts[1].hasPrefix("/") else {
            throw SpecError("invalid -v `\(text)`: the container path `\(parts[1])` must be absolute")
        }
        guard parts[1].split(separator: "/").allSatisfy({ $0 != ".." }) else {
            throw SpecError("invalid -v `\(text)`: the container path must not contain `..`")
        }
        self.init(source: parts[0], target: parts[1], readOnly: readOnly)
    }

    public var description: String { "\(source):\(target)\(readOnly ? ":ro" : "")" }
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

    /// mount(2)'s flags and data for these options: docker's defaults (noexec, nosuid, nodev)
    /// unless an option says otherwise; anything not a flag (size=, mode=, nr_inodes=) is data.
    public static func mountArguments(_ options: [String]) -> (flags: UInt, data: String) {
        var noexec = true, nosuid = true, nodev = true, readOnly = false
        var data: [String] = []
        for option in options {
            switch option {
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
        var flags: UInt = 0
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
