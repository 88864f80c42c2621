import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// Named volumes (`-v NAME:/path`, `--mount type=volume,...`, `contain volume ...`): a
/// directory per volume that outlives the containers using it, as docker's `local` driver keeps
/// them:
///
///     <directory>/NAME/_data     what containers see (owned by root, mode 0755)
///
/// The directory is `/var/lib/contain/volumes` (with `--root DIR`: `DIR/volumes`), beside the
/// network definitions, so volumes survive a reboot as those do. A volume is made on first use.
/// It is in use while a container record (running, created or kept after `-d`) mounts it;
/// `rm` refuses a volume in use.
public struct VolumeStore {
    public static let defaultDirectory = "/var/lib/contain/volumes"

    public let directory: String

    public init(directory: String = defaultDirectory) { self.directory = directory }

    public struct Volume: Equatable, Sendable {
        public let name: String
        /// The host directory containers see.
        public let mountpoint: String
        public let created: Int
    }

    /// docker's rule: a letter or digit, then letters, digits, `_`, `.` or `-`; 2 to 255 characters.
    public static func validateName(_ name: String) throws(SpecError) -> String {
        let bytes = Array(name.utf8)
        func alnum(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) }
        guard bytes.count >= 2, bytes.count <= 255, alnum(bytes[0]),
              bytes.allSatisfy({ alnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }) else {
            throw SpecError("invalid volume name `\(name)`: use 2 to 255 letters, digits, `_`, `.` or `-`, starting with a letter or digit")
        }
        return name
    }

    public func mountpoint(of name: String) -> String { directory + "/" + name + "/_data" }

    /// The volume's directory, made if it is new. Idempotent and safe against a concurrent
    /// first use: both find the same directory.
    @discardableResult
    public func create(_ name: String) throws -> Volume {
        let name = try Self.validateName(name)
        try Files.makeDirectories(directory, mode: 0o700)
        try Files.makeDirectory(directory + "/" + name, mode: 0o700, existingOK: true)
        try Files.makeDirectory(mountpoint(of: name), mode: 0o755, existingOK: true)
        guard let volume = find(name) else { throw SystemError("create volume", path: name, errno: EIO) }
        return volume
    }

    public func find(_ name: String) -> Volume? {
        guard (try? Self.validateName(name)) != nil else { return nil }
        var st = stat()
        guard stat(mountpoint(of: name), &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return nil }
        return Volume(name: name, mountpoint: mountpoint(of: name), created: Int(st.st_ctim.tv_sec))
    }

    public func list() -> [Volume] {
        ((try? Files.list(directory)) ?? []).sorted().compactMap(find)
    }

    /// The ids of the containers whose configuration mounts the volume.
    public func users(of name: String, stateRoot: String) -> [String] {
        let source = mountpoint(of: name)
        return ContainerRecord.list(stateRoot: stateRoot).filter { view in
            guard let config = try? ContainerRecord.configuration(of: view) else { return false }
            return config.mounts.contains { $0.type == "volume" && $0.source == source }
        }.map(\.info.id)
    }

    /// Removes the volume and its contents; refused while a container uses it.
    public func remove(_ name: String, stateRoot: String) throws {
        guard find(name) != nil else { throw RunFailure.runtime("no such volume: \(name)") }
        let users = users(of: name, stateRoot: stateRoot)
        guard users.isEmpty else {
            throw RunFailure.runtime("volume \(name) is in use by container \(users.map { String($0.prefix(12)) }.joined(separator: ", "))")
        }
        // Out of sight first, so a half-removed volume is never found by name.
        let gone = directory + "/.gone-" + name + "-" + String(getpid())
        try sys("rename", path: name) { rename(directory + "/" + name, gone) }
        try Files.removeTree(gone)
    }

    /// What removing the volume frees, in bytes (for `prune`'s total).
    public func size(_ name: String) -> UInt64 { UInt64(Files.treeUsage(directory + "/" + name, counting: .allocatedBlocks)) }
}
