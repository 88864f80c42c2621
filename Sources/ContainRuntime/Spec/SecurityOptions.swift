import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `--cap-add`, `--cap-drop`, `--privileged`, `--security-opt` and `--device`, validated.
public struct SecurityOptions: Equatable, Sendable {
    /// The capabilities the container's root has (bounding, permitted and effective).
    public var capabilities: [String] = Capabilities.dockerDefault
    public var privileged = false
    public var seccomp: Seccomp = .default
    public var noNewPrivileges = false
    public var devices: [DeviceMapping] = []

    public enum Seccomp: Equatable, Sendable {
        /// docker's default profile, for the container's capabilities.
        case `default`
        case unconfined
        /// `--security-opt seccomp=FILE`: docker's profile format, resolved for the container.
        case profile(path: String, ContainerConfig.Linux.Seccomp)
    }

    public init() {}

    /// From the flags as given. `readFile` reads a seccomp profile (tests pass their own).
    public init(capAdd: [String], capDrop: [String], privileged: Bool, securityOpt: [String], devices: [String],
                readFile: (String) throws -> String = { try Files.read($0) }) throws {
        self.privileged = privileged
        capabilities = privileged ? Capabilities.hostBounding : try Capabilities.resolve(add: capAdd, drop: capDrop)
        var seccompPath: String?
        for option in securityOpt {
            let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
            let key = parts[0], value = parts.count == 2 ? parts[1] : nil
            switch (key, value) {
            case ("no-new-privileges", nil), ("no-new-privileges", "true"): noNewPrivileges = true
            case ("no-new-privileges", "false"): noNewPrivileges = false
            case ("seccomp", "unconfined"?): seccomp = .unconfined; seccompPath = nil
            case ("seccomp", let path?) where !path.isEmpty: seccompPath = path
            default:
                throw SpecError("unknown --security-opt `\(option)`: expected seccomp=unconfined, seccomp=FILE or no-new-privileges")
            }
        }
        if let path = seccompPath {
            let text: String
            do { text = try readFile(path) } catch { throw SpecError("--security-opt seccomp=\(path): \(error)") }
            do {
                seccomp = .profile(path: path, try DockerSeccompProfile.parse(text, capabilities: Set(capabilities)))
            } catch {
                throw SpecError("--security-opt seccomp=\(path): \(error)")
            }
        }
        self.devices = try devices.map { text throws(SpecError) in try DeviceMapping(parsing: text) }
    }

    /// The filter the container gets; nil: none (privileged or unconfined).
    public var seccompFilter: ContainerConfig.Linux.Seccomp? {
        if privileged { return nil }
        switch seccomp {
        case .default: return SeccompProfile.dockerDefault(capabilities: Set(capabilities))
        case .unconfined: return nil
        case .profile(_, let filter): return filter
        }
    }

    /// For `ps`: default, unconfined, or the profile's path.
    public var seccompDescription: String {
        if privileged { return "unconfined" }
        switch seccomp {
        case .default: return "default"
        case .unconfined: return "unconfined"
        case .profile(let path, _): return path
        }
    }
}

/// `--device HOST[:CONTAINER][:PERMISSIONS]`: a host device node made in the container and
/// allowed by its device cgroup.
public struct DeviceMapping: Equatable, Sendable {
    public var hostPath: String
    public var containerPath: String
    /// Some of `r`, `w`, `m`.
    public var access: String
    public var type: String
    public var major: Int64
    public var minor: Int64
    public var mode: UInt32

    public init(parsing text: String, stat statFunction: (String) -> stat? = DeviceMapping.status) throws(SpecError) {
        var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var access = "rwm"
        if parts.count >= 2, let last = parts.last, !last.isEmpty, !last.hasPrefix("/"),
           last.allSatisfy({ "rwm".contains($0) }) {
            access = last
            parts.removeLast()
        }
        guard (1...2).contains(parts.count), parts.allSatisfy({ $0.hasPrefix("/") }) else {
            throw SpecError("invalid --device `\(text)`: expected HOSTPATH[:CONTAINERPATH][:rwm]")
        }
        hostPath = parts[0]
        containerPath = parts.count == 2 ? parts[1] : parts[0]
        self.access = access
        guard let st = statFunction(hostPath) else {
            throw SpecError("invalid --device `\(text)`: `\(hostPath)` does not exist")
        }
        switch st.st_mode & S_IFMT {
        case S_IFCHR: type = "c"
        case S_IFBLK: type = "b"
        default: throw SpecError("invalid --device `\(text)`: `\(hostPath)` is not a device")
        }
        let dev = UInt64(st.st_rdev)
        major = Int64(((dev >> 8) & 0xfff) | ((dev >> 32) & ~UInt64(0xfff)))
        minor = Int64((dev & 0xff) | ((dev >> 12) & ~UInt64(0xff)))
        mode = UInt32(st.st_mode & 0o7777)
    }

    /// stat(2) of `path`, nil when it fails.
    public static func status(_ path: String) -> stat? {
        var st = stat()
        return stat(path, &st) == 0 ? st : nil
    }
}
