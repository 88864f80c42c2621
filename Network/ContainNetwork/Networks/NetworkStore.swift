import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// Network definitions and their leases on disk, behind one lock:
///
///     <directory>/
///         .lock              flock(LOCK_EX) around every read-modify-write
///         NAME.network       the definition (NetworkDefinition's format)
///         NAME.leases        the leases (LeaseTable's format)
///
/// One lock for all networks keeps subnet checks and leases consistent across networks; it is
/// held for a few file operations, never while a container runs.
public final class NetworkStore {
    public static let defaultDirectory = "/var/lib/contain/networks"

    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// Runs `body` holding the store's lock (taken blocking; released on return or throw).
    public func withLock<T>(_ body: () throws -> T) throws -> T {
        try Files.makeDirectories(directory, mode: 0o755)
        let path = directory + "/.lock"
        let fd = try sys("open", path: path) { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        defer { close(fd) }
        try sys("flock", path: path) { flock(fd, LOCK_EX) }
        return try body()
    }

    private func definitionPath(_ name: String) -> String { directory + "/" + name + ".network" }
    private func leasesPath(_ name: String) -> String { directory + "/" + name + ".leases" }

    public func definitions() throws -> [NetworkDefinition] {
        guard Files.isDirectory(directory) else { return [] }
        return try Files.list(directory).filter { $0.hasSuffix(".network") }.sorted().compactMap { file in
            try definition(named: String(file.dropLast(".network".count)))
        }
    }

    public func definition(named name: String) throws -> NetworkDefinition? {
        let path = definitionPath(name)
        guard Files.exists(path) else { return nil }
        do { return try NetworkDefinition(parsing: try Files.read(path)) } catch let error as NetworkError {
            throw NetworkError.invalid("\(path): \(error)")
        }
    }

    public func save(_ definition: NetworkDefinition) throws {
        try Files.makeDirectories(directory, mode: 0o755)
        try Files.writeAtomically(definitionPath(definition.name), definition.serialized)
    }

    public func remove(named name: String) throws {
        unlink(leasesPath(name))
        try sys("unlink", path: definitionPath(name)) { unlink(definitionPath(name)) }
    }

    public func leases(of name: String) throws -> LeaseTable {
        let path = leasesPath(name)
        guard Files.exists(path) else { return LeaseTable() }
        do { return try LeaseTable(parsing: try Files.read(path)) } catch let error as NetworkError {
            throw NetworkError.invalid("\(path): \(error)")
        }
    }

    public func saveLeases(_ table: LeaseTable, of name: String) throws {
        try Files.writeAtomically(leasesPath(name), table.serialized, mode: 0o600)
    }
}
