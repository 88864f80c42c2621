#if canImport(Glibc)
import Glibc
#endif

/// A seccomp profile in docker's format (`docker run --security-opt seccomp=FILE`, moby's
/// profiles/seccomp), and its resolution for one container into the OCI shape, by moby's rules
/// (setupSeccomp):
///
/// - `archMap`: the entry whose `architecture` is this machine's becomes `architectures`, with
///   its `subArchitectures`; no entry, no extra architecture. `architectures` and `archMap`
///   together are an error.
/// - a rule is dropped when its `excludes` matches (this machine's architecture is in `arches`,
///   any of `caps` is among the container's capabilities, the kernel is at least `minKernel`),
///   or its `includes` does not (the architecture is not in `arches`, one of `caps` is missing,
///   the kernel is older than `minKernel`). Architectures here are docker's names: `amd64`,
///   `arm64`, `x86`, `x32`, `arm`, `s390x`, ...
/// - `name` is the old spelling of a one-element `names`.
///
/// Stricter than docker, so a mistake is one line before anything starts: every rule (also one
/// dropped here) must have names and a known action and op; a syscall name neither libseccomp
/// nor docker's own default profile knows is an error (a name only docker's profile knows, such
/// as `mseal` with libseccomp 2.5.4, is kept and skipped when the filter is built, as docker
/// does); `SCMP_ACT_NOTIFY`, `listenerPath` and `flags` are refused, contain has no use for them.
/// Other members (`comment`, unknown ones) are ignored, as docker ignores them.
public struct DockerSeccompProfile: Equatable, Sendable {
    public typealias Seccomp = ContainerConfig.Linux.Seccomp

    public var defaultAction: String
    public var defaultErrnoRet: UInt32?
    public var architectures: [String]
    public var archMap: [ArchitectureGroup]
    public var syscalls: [Rule]

    public init(defaultAction: String, defaultErrnoRet: UInt32? = nil, architectures: [String] = [],
                archMap: [ArchitectureGroup] = [], syscalls: [Rule] = []) {
        self.defaultAction = defaultAction
        self.defaultErrnoRet = defaultErrnoRet
        self.architectures = architectures
        self.archMap = archMap
        self.syscalls = syscalls
    }

    /// `archMap[]`: an architecture (OCI name) and the ones its processes may also run as.
    public struct ArchitectureGroup: Equatable, Sendable {
        public var architecture: String
        public var subArchitectures: [String]

        public init(_ architecture: String, _ subArchitectures: [String] = []) {
            self.architecture = architecture
            self.subArchitectures = subArchitectures
        }
    }

    /// `syscalls[]`: an OCI rule with the conditions under which it applies.
    public struct Rule: Equatable, Sendable {
        public var names: [String]
        public var action: String
        public var errnoRet: UInt32?
        public var args: [Seccomp.Arg]
        public var includes: Condition
        public var excludes: Condition

        public init(_ names: [String], _ action: String, errnoRet: UInt32? = nil, args: [Seccomp.Arg] = [],
                    includes: Condition = .init(), excludes: Condition = .init()) {
            self.names = names
            self.action = action
            self.errnoRet = errnoRet
            self.args = args
            self.includes = includes
            self.excludes = excludes
        }
    }

    /// `includes` / `excludes`; empty: no condition.
    public struct Condition: Equatable, Sendable {
        public var caps: [String]
        public var arches: [String]
        public var minKernel: KernelVersion?

        public init(caps: [String] = [], arches: [String] = [], minKernel: KernelVersion? = nil) {
            self.caps = caps
            self.arches = arches
            self.minKernel = minKernel
        }
    }

    /// A kernel version to its minor revision, as `minKernel` compares it: `4.8`.
    public struct KernelVersion: Comparable, Sendable, CustomStringConvertible {
        public var major: UInt32
        public var minor: UInt32

        public init(_ major: UInt32, _ minor: UInt32) {
            self.major = major
            self.minor = minor
        }

        /// `6.1.0-18-amd64` → 6.1, `4.8` → 4.8; nil when it does not start with two numbers.
        public init?(release: String) {
            let numbers = release.split(maxSplits: 2, omittingEmptySubsequences: false, whereSeparator: { !$0.isNumber })
            guard numbers.count >= 2, let major = UInt32(numbers[0]), let minor = UInt32(numbers[1]) else { return nil }
            self.init(major, minor)
        }

        /// The running kernel's (uname); 0.0 if it cannot be read, which no minKernel matches.
        public static let running: KernelVersion = {
            var name = utsname()
            guard uname(&name) == 0 else { return KernelVersion(0, 0) }
            let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            return KernelVersion(release: release) ?? KernelVersion(0, 0)
        }()

        public static func < (a: KernelVersion, b: KernelVersion) -> Bool { (a.major, a.minor) < (b.major, b.minor) }
        public var description: String { "\(major).\(minor)" }
    }

    // MARK: - resolution

    /// The profile as it applies to a container with `capabilities` (its bounding set, names
    /// such as `CAP_SYS_ADMIN`) on `architecture` with `kernel`.
    public func resolve(capabilities: Set<String>, architecture: SeccompArchitecture? = SeccompArchitecture.native,
                        kernel: KernelVersion = .running) -> Seccomp {
        var architectures = self.architectures
        if let architecture, let group = archMap.first(where: { $0.architecture == architecture.oci }) {
            architectures = [group.architecture] + group.subArchitectures
        }
        let arch = architecture?.docker
        let rules = syscalls.filter { rule in
            let excludes = rule.excludes, includes = rule.includes
            if let arch, excludes.arches.contains(arch) { return false }
            if excludes.caps.contains(where: capabilities.contains) { return false }
            if let minimum = excludes.minKernel, kernel >= minimum { return false }
            if !includes.arches.isEmpty, !(arch.map(includes.arches.contains) ?? false) { return false }
            if !includes.caps.allSatisfy(capabilities.contains) { return false }
            if let minimum = includes.minKernel, kernel < minimum { return false }
            return true
        }
        return Seccomp(defaultAction: defaultAction, defaultErrnoRet: defaultErrnoRet, architectures: architectures,
                       syscalls: rules.map { .init(names: $0.names, action: $0.action, errnoRet: $0.errnoRet, args: $0.args) })
    }

    /// Reads `json` (docker's format) and resolves it for a container with `capabilities` on
    /// this machine. Errors are one line naming what is wrong and where
    /// (`syscalls[3] (mount): unknown action `SCMP_ACT_DENY``).
    public static func parse(_ json: String, capabilities: Set<String>,
                             architecture: SeccompArchitecture? = SeccompArchitecture.native,
                             kernel: KernelVersion = .running) throws(SpecError) -> Seccomp {
        try DockerSeccompProfile(json: json).resolve(capabilities: capabilities, architecture: architecture, kernel: kernel)
    }

    /// Reads `json` (docker's format) and checks every rule, without resolving it.
    public init(json: String) throws(SpecError) {
        let document: JSONValue
        do { document = try JSONValue.parse(json) } catch { throw SpecError(error.description) }
        let root = Reader(document, path: "")
        let members = try root.object()

        for refused in ["flags", "listenerPath"] {
            if let value = members[refused], !value.isAbsent {
                throw SpecError("`\(refused)` is not supported (contain applies the filter with no flags and no agent)")
            }
        }
        guard let action = members["defaultAction"], !action.isAbsent else { throw SpecError("no `defaultAction`") }
        self.defaultAction = try action.string()
        self.defaultErrnoRet = try members["defaultErrnoRet"]?.optional { r throws(SpecError) in try r.uint32() }
        self.architectures = try members["architectures"]?.array { r throws(SpecError) in try r.architecture() } ?? []
        self.archMap = try members["archMap"]?.array { entry throws(SpecError) in
            let fields = try entry.object()
            guard let name = fields["architecture"] else { throw SpecError("\(entry.path): no `architecture`") }
            return ArchitectureGroup(try name.architecture(),
                                     try fields["subArchitectures"]?.array { r throws(SpecError) in try r.architecture() } ?? [])
        } ?? []
        if !architectures.isEmpty, !archMap.isEmpty {
            throw SpecError("both `architectures` and `archMap` are given: use one")
        }
        self.syscalls = try members["syscalls"]?.array { r throws(SpecError) in try Self.rule(r) } ?? []

        do { _ = try SeccompFilter.action(defaultAction, errnoRet: defaultErrnoRet) } catch {
            throw SpecError("defaultAction: \(error)")
        }
    }

    static func rule(_ reader: Reader) throws(SpecError) -> Rule {
        let fields = try reader.object()
        let name = try fields["name"]?.optional { r throws(SpecError) in try r.string() }
        var names = try fields["names"]?.array { r throws(SpecError) in try r.string() } ?? []
        if let name, !name.isEmpty {
            if !names.isEmpty { throw SpecError("\(reader.path): both `name` and `names` are given: use one") }
            names = [name]
        }
        let here = reader.path + SeccompFilter.label(names)
        do { try SeccompFilter.validate(names: names) } catch { throw SpecError("\(here): \(error)") }
        for unknown in names where !SeccompFilter.knows(syscall: unknown) && !SeccompProfile.dockerNames.contains(unknown) {
            throw SpecError("\(here): unknown syscall `\(unknown)`")
        }
        guard let actionField = fields["action"] else { throw SpecError("\(here): no `action`") }
        let action = try actionField.string()
        let errnoRet = try fields["errnoRet"]?.optional { r throws(SpecError) in try r.uint32() }
        do { _ = try SeccompFilter.action(action, errnoRet: errnoRet) } catch { throw SpecError("\(here): \(error)") }
        let args = try fields["args"]?.array { r throws(SpecError) in try Self.arg(r, rule: here) } ?? []
        return Rule(names, action, errnoRet: errnoRet, args: args,
                    includes: try fields["includes"]?.optional { r throws(SpecError) in try Self.condition(r) } ?? .init(),
                    excludes: try fields["excludes"]?.optional { r throws(SpecError) in try Self.condition(r) } ?? .init())
    }

    static func arg(_ reader: Reader, rule: String) throws(SpecError) -> Seccomp.Arg {
        let fields = try reader.object()
        func field(_ key: String) throws(SpecError) -> Reader {
            guard let value = fields[key] else { throw SpecError("\(reader.path): no `\(key)`") }
            return value
        }
        let index = try field("index").uint32()
        let value = try field("value").uint64()
        let valueTwo = try fields["valueTwo"]?.optional { r throws(SpecError) in try r.uint64() } ?? 0
        let arg = Seccomp.Arg(index: index, value: value, valueTwo: valueTwo, op: try field("op").string())
        do { _ = try SeccompFilter.condition(arg) } catch {
            // `syscalls[2] (personality)` with `.args[0]` of the reader's path after it.
            throw SpecError("\(rule)\(reader.path.drop { $0 != "." }): \(error)")
        }
        return arg
    }

    static func condition(_ reader: Reader) throws(SpecError) -> Condition {
        let fields = try reader.object()
        let minKernel: KernelVersion? = try fields["minKernel"]?.optional { r throws(SpecError) in
            let text = try r.string()
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 2, let major = UInt8(parts[0]), let minor = UInt8(parts[1]), major > 0 || minor > 0 else {
                throw SpecError("\(r.path): `\(text)` is not a kernel version such as \"4.8\"")
            }
            return KernelVersion(UInt32(major), UInt32(minor))
        }
        return Condition(caps: try fields["caps"]?.array { r throws(SpecError) in try r.string() } ?? [],
                         arches: try fields["arches"]?.array { r throws(SpecError) in try r.string() } ?? [],
                         minKernel: minKernel)
    }

    /// A value in the document and where it is (`syscalls[3].args[0].op`), for messages.
    struct Reader {
        let value: JSONValue
        let path: String

        init(_ value: JSONValue, path: String) {
            self.value = value
            self.path = path
        }

        var isAbsent: Bool {
            switch value {
            case .null: true
            case .array(let elements): elements.isEmpty
            case .string(let text): text.isEmpty
            default: false
            }
        }

        func mismatch(_ expected: String) -> SpecError {
            SpecError("\(path.isEmpty ? "the profile" : path): expected \(expected), found \(value.kind)")
        }

        /// The members by name; a key's path is `path.key`.
        func object() throws(SpecError) -> [String: Reader] {
            guard case .object(let members) = value else { throw mismatch("an object") }
            var fields: [String: Reader] = [:]
            for member in members {
                fields[member.key] = Reader(member.value, path: path.isEmpty ? member.key : "\(path).\(member.key)")
            }
            return fields
        }

        /// Each element read by `read`; null reads as no elements (Go's encoding/json does the same).
        func array<T>(_ read: (Reader) throws(SpecError) -> T) throws(SpecError) -> [T] {
            if case .null = value { return [] }
            guard case .array(let elements) = value else { throw mismatch("an array") }
            var result: [T] = []
            for (i, element) in elements.enumerated() { result.append(try read(Reader(element, path: "\(path)[\(i)]"))) }
            return result
        }

        /// nil for null, otherwise what `read` makes of it.
        func optional<T>(_ read: (Reader) throws(SpecError) -> T) throws(SpecError) -> T? {
            if case .null = value { return nil }
            return try read(self)
        }

        func string() throws(SpecError) -> String {
            guard case .string(let text) = value else { throw mismatch("a string") }
            return text
        }

        func uint64() throws(SpecError) -> UInt64 {
            guard case .number(let text) = value else { throw mismatch("a number") }
            guard let number = value.uint64 else { throw SpecError("\(path): \(text) is not an integer from 0 to 18446744073709551615") }
            return number
        }

        func uint32() throws(SpecError) -> UInt32 {
            guard case .number(let text) = value else { throw mismatch("a number") }
            guard let number = value.uint64.flatMap(UInt32.init(exactly:)) else {
                throw SpecError("\(path): \(text) is not an integer from 0 to 4294967295")
            }
            return number
        }

        /// An OCI architecture name (`SCMP_ARCH_X86_64`).
        func architecture() throws(SpecError) -> String {
            let name = try string()
            guard SeccompArchitecture.named(name) != nil else { throw SpecError("\(path): unknown architecture `\(name)`") }
            return name
        }
    }
}
