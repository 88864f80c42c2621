import CContainShim

/// The device allow-list: which device nodes a container may open (read, write) or make
/// (mknod). Docker's default, the validation of OCI rules, and what a rule list comes to.
///
/// A rule list is read as the cgroup v1 `devices` controller reads the lines written to
/// `devices.allow` and `devices.deny`, one after the other, starting from "deny everything":
///
/// - a rule of type `a` resets everything: every device allowed (`allow`) or denied;
/// - a rule that goes against the current default adds an exception (merged with an earlier
///   exception for the same type, major and minor);
/// - a rule that agrees with the default takes access away from the exception for exactly
///   that type, major and minor.
///
/// `DeviceFilter` is the result: a default and a list of exceptions. The v1 plan writes it to
/// the `devices` files, the v2 plan compiles it into an eBPF program (`DeviceFilterProgram`),
/// so both layouts enforce the same thing. As in runc, a rule that would take access away from
/// part of a wildcard exception (deny `c 1:3` after allow `c 1:*`) is refused: cgroup v1 would
/// silently ignore it.
public enum DeviceRules {
    public typealias Rule = ContainerConfig.Linux.DeviceRule

    /// What docker gives a container (moby's default spec plus runc's `AllowedDevices`, which
    /// runc appends to every container's rules): deny everything, then
    ///
    ///     c *:* m      b *:* m       any node may be made; opening it is what is controlled
    ///     c 1:3 rwm    /dev/null     c 1:5 rwm    /dev/zero     c 1:7 rwm   /dev/full
    ///     c 1:8 rwm    /dev/random   c 1:9 rwm    /dev/urandom
    ///     c 5:0 rwm    /dev/tty      c 5:1 rwm    /dev/console  c 5:2 rwm   /dev/ptmx
    ///     c 136:* rwm  /dev/pts/*    c 10:200 rwm /dev/net/tun
    ///
    /// moby's spec also denies `c 10:229` (fuse) before runc's list; nothing allows it, so the
    /// deny-all covers it. `/dev/console` (5:1) comes from moby's spec, tun from runc's.
    public static let dockerDefault: [Rule] = [
        Rule(allow: false, type: "a", access: "rwm"),
        Rule(allow: true, type: "c", access: "m"),
        Rule(allow: true, type: "b", access: "m"),
        Rule(allow: true, type: "c", major: 1, minor: 3, access: "rwm"),
        Rule(allow: true, type: "c", major: 1, minor: 5, access: "rwm"),
        Rule(allow: true, type: "c", major: 1, minor: 7, access: "rwm"),
        Rule(allow: true, type: "c", major: 1, minor: 8, access: "rwm"),
        Rule(allow: true, type: "c", major: 1, minor: 9, access: "rwm"),
        Rule(allow: true, type: "c", major: 5, minor: 0, access: "rwm"),
        Rule(allow: true, type: "c", major: 5, minor: 1, access: "rwm"),
        Rule(allow: true, type: "c", major: 5, minor: 2, access: "rwm"),
        Rule(allow: true, type: "c", major: 136, access: "rwm"),
        Rule(allow: true, type: "c", major: 10, minor: 200, access: "rwm"),
    ]

    /// Major and minor numbers must fit the eBPF program's signed 32-bit immediates (the
    /// kernel's own are far smaller: 12 and 20 bits).
    static let numberRange: ClosedRange<Int64> = 0...Int64(Int32.max)

    /// The rule as a line of `devices.allow`: `c 1:3 rwm`, `c 136:* rwm`, `a`.
    public static func line(_ rule: Rule) -> String {
        let type = rule.type ?? "a"
        if type == "a" { return "a" }
        return "\(type) \(rule.major.map(String.init) ?? "*"):\(rule.minor.map(String.init) ?? "*") \(rule.access ?? "rwm")"
    }

    /// `allow c 1:3 rwm`, for messages.
    static func describe(_ rule: Rule) -> String { (rule.allow ? "allow " : "deny ") + line(rule) }
}

/// Which accesses a device rule speaks of; the raw values are the kernel's `BPF_DEVCG_ACC_*`.
public struct DeviceAccess: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let mknod = DeviceAccess(rawValue: Int32(BPF_DEVCG_ACC_MKNOD))
    public static let read = DeviceAccess(rawValue: Int32(BPF_DEVCG_ACC_READ))
    public static let write = DeviceAccess(rawValue: Int32(BPF_DEVCG_ACC_WRITE))
    public static let all: DeviceAccess = [.read, .write, .mknod]

    /// `rwm`, `m`, `rw`: any order, no repeats; nil means all three.
    init(_ text: String?) throws(SpecError) {
        guard let text else { self = .all; return }
        var access: DeviceAccess = []
        for character in text {
            let one: DeviceAccess
            switch character {
            case "r": one = .read
            case "w": one = .write
            case "m": one = .mknod
            default: throw SpecError("device rule access `\(text)` must be made of r, w and m")
            }
            guard !access.contains(one) else { throw SpecError("device rule access `\(text)` names `\(character)` twice") }
            access.insert(one)
        }
        guard !access.isEmpty else { throw SpecError("device rule access is empty: it must be made of r, w and m") }
        self = access
    }

    /// Always in the order `rwm`, as `devices.list` shows it.
    public var description: String {
        (contains(.read) ? "r" : "") + (contains(.write) ? "w" : "") + (contains(.mknod) ? "m" : "")
    }
}

/// What a rule list comes to (see `DeviceRules`): a default for every device, and the
/// exceptions to it, in the order they were first named.
public struct DeviceFilter: Equatable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        case char = "c"
        case block = "b"

        /// The kernel's `BPF_DEVCG_DEV_*` value for this type.
        var bpfType: Int32 {
            switch self {
            case .char: Int32(BPF_DEVCG_DEV_CHAR)
            case .block: Int32(BPF_DEVCG_DEV_BLOCK)
            }
        }
    }

    /// One exception: devices it covers (nil major or minor: all) and the access it grants
    /// (when the default denies) or refuses (when the default allows).
    public struct Exception: Equatable, Sendable, CustomStringConvertible {
        public var kind: Kind
        public var major: UInt32?
        public var minor: UInt32?
        public var access: DeviceAccess

        /// `c 1:3 rwm`: the line for `devices.allow` or `devices.deny`.
        public var description: String {
            "\(kind.rawValue) \(major.map { String($0) } ?? "*"):\(minor.map { String($0) } ?? "*") \(access)"
        }

        func sameDevices(as other: Exception) -> Bool {
            kind == other.kind && major == other.major && minor == other.minor
        }
    }

    public private(set) var defaultAllow: Bool
    public private(set) var exceptions: [Exception]

    /// Every device allowed: what `--privileged` asks for. No cgroup setting is needed.
    public var allowsEverything: Bool { defaultAllow && exceptions.isEmpty }

    /// Reads `rules` in order, starting from "deny everything". Throws on a rule that is not
    /// valid or that cgroup v1 could not express.
    public init(rules: [DeviceRules.Rule]) throws(SpecError) {
        defaultAllow = false
        exceptions = []
        for rule in rules { try apply(rule) }
    }

    private mutating func apply(_ rule: DeviceRules.Rule) throws(SpecError) {
        let access = try DeviceAccess(rule.access)
        let kind: Kind
        switch rule.type ?? "a" {
        case "a":
            guard rule.major == nil, rule.minor == nil, access == .all else {
                throw SpecError("device rule `\(DeviceRules.describe(rule))`: type `a` stands for every device, so it takes no major, minor or partial access")
            }
            defaultAllow = rule.allow
            exceptions = []
            return
        case "c": kind = .char
        case "b": kind = .block
        case let other: throw SpecError("device rule type `\(other)` must be `a`, `c` or `b`")
        }
        func number(_ value: Int64?, _ name: String) throws(SpecError) -> UInt32? {
            guard let value else { return nil }
            guard DeviceRules.numberRange.contains(value) else {
                throw SpecError("device rule \(name) `\(value)` is out of range (\(DeviceRules.numberRange.lowerBound) to \(DeviceRules.numberRange.upperBound))")
            }
            return UInt32(value)
        }
        let exception = Exception(kind: kind, major: try number(rule.major, "major"),
                                  minor: try number(rule.minor, "minor"), access: access)
        if rule.allow != defaultAllow {
            if let index = exceptions.firstIndex(where: { $0.sameDevices(as: exception) }) {
                exceptions[index].access.formUnion(access)
            } else {
                exceptions.append(exception)
            }
            return
        }
        // Taking access away: only from the exception for exactly these devices, as v1 does.
        // A wider exception that shares some of that access would keep granting (or refusing)
        // it on v1: refused here rather than enforced differently on the two layouts.
        for wider in exceptions where wider.kind == kind && !wider.sameDevices(as: exception)
            && (wider.major == nil || wider.major == exception.major) && (wider.minor == nil || wider.minor == exception.minor)
            && !wider.access.isDisjoint(with: access) {
            throw SpecError("device rule `\(DeviceRules.describe(rule))` would cut a hole in the earlier `\(defaultAllow ? "deny" : "allow") \(wider)`, which the cgroup v1 devices controller cannot do")
        }
        if let index = exceptions.firstIndex(where: { $0.sameDevices(as: exception) }) {
            exceptions[index].access.subtract(access)
            if exceptions[index].access.isEmpty { exceptions.remove(at: index) }
        }
    }

    /// The cgroup v1 writes, in order, each one line written with one write(2): the default
    /// (`a` to `devices.deny` or `devices.allow`, which also clears every exception), then one
    /// line per exception to the other file.
    public var v1Lines: [(file: String, line: String)] {
        let (defaultFile, exceptionFile) = defaultAllow ? ("devices.allow", "devices.deny") : ("devices.deny", "devices.allow")
        return [(defaultFile, "a")] + exceptions.map { (exceptionFile, $0.description) }
    }
}
