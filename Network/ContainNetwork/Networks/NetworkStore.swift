import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// Network definitions and their leases on disk, behind one lock:
///
///     <directory>/
///         .lock                flock(LOCK_EX) around every read-modify-write
///         NAME.network         the definition (NetworkDefinition's format)
///         NAME.leases          the leases (LeaseTable's format)
///         NAME.leases.tmp.PID  a write under way (Files.writeAtomically), renamed over when
///                              done; swept if its writer died first (so is NAME.network.tmp.PID)
///
/// One lock for all networks keeps subnet checks and leases consistent across networks; it is
/// held for a few file operations, never while a container runs.
public final class NetworkStore {
    public static let defaultDirectory = "/var/lib/contain/networks"

    /// Replaces the file at `path` with `contents`, readers seeing the old or the new file.
    public typealias Writer = (_ path: String, _ contents: String, _ mode: mode_t) throws -> Void

    public let directory: String
    private let write: Writer

    /// `write` is how files are replaced (atomically, by default); tests pass one that fails
    /// as a full filesystem would.
    public init(directory: String, write: @escaping Writer = { try Files.writeAtomically($0, $1, mode: $2) }) {
        self.directory = directory
        self.write = write
    }

    /// Runs `body` holding the store's lock (taken blocking; released on return or throw),
    /// after sweeping the temporaries of writers that died mid-write.
    public func withLock<T>(_ body: () throws -> T) throws -> T {
        try Files.makeDirectories(directory, mode: 0o755)
        let path = directory + "/.lock"
        let fd = try sys("open", path: path) { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        defer { close(fd) }
        try sys("flock", path: path) { flock(fd, LOCK_EX) }
        sweepTemporaries()
        return try body()
    }

    /// Removes the `*.tmp.PID` files whose writer is gone: a runtime killed between writing a
    /// temporary and renaming it over. A live writer's are left alone. Best effort (a file
    /// that cannot be removed now is tried again next time); returns the names removed. Runs
    /// with the lock held, so no writer of this store is mid-write in another process.
    @discardableResult
    func sweepTemporaries() -> [String] {
        guard let names = try? Files.list(directory) else { return [] }
        var removed: [String] = []
        for name in names {
            guard let pid = Self.writerPID(temporary: name), !Self.isRunning(pid) else { continue }
            if unlink(directory + "/" + name) == 0 { removed.append(name) }
        }
        return removed.sorted()
    }

    /// The pid in a temporary's name (`NAME.leases.tmp.4242`), or nil for any other file.
    static func writerPID(temporary name: String) -> Int32? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[parts.count - 2] == "tmp", let last = parts.last, !last.isEmpty,
              last.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let pid = Int32(last), pid > 0 else { return nil }
        return pid
    }

    /// Whether a process `pid` exists (EPERM: it does, and belongs to someone else).
    static func isRunning(_ pid: Int32) -> Bool { kill(pid, 0) == 0 || errno == EPERM }

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
        try write(definitionPath(definition.name), definition.serialized, 0o644)
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
        try write(leasesPath(name), table.serialized, 0o600)
    }

    /// The lease of `containerID` on the network, found line by line and only its own line
    /// parsed (a container's end, on a network of hundreds); nil when it has none.
    public func lease(of containerID: String, on name: String) throws -> Lease? {
        let path = leasesPath(name)
        guard Files.exists(path) else { return nil }
        let text = try Files.read(path)
        guard let line = text.splitASCII("\n").first(where: { Self.isLease($0, of: containerID) }) else { return nil }
        let table: LeaseTable
        do { table = try LeaseTable(parsing: String(line)) } catch { throw NetworkError.invalid("\(path): \(error)") }
        return table.leases.first
    }

    /// Takes the lease of `containerID` out of the network's file line by line, without parsing
    /// the others. Returns whether it was there.
    public func releaseLease(containerID: String, of name: String) throws -> Bool {
        let path = leasesPath(name)
        guard Files.exists(path) else { return false }
        var kept: [Substring] = [], found = false
        for line in try Files.read(path).splitASCII("\n") {
            if Self.isLease(line, of: containerID) { found = true } else { kept.append(line) }
        }
        if found { try write(path, kept.map { $0 + "\n" }.joined(), 0o600) }
        return found
    }

    /// Whether a line of a lease file is `containerID`'s lease: its second field, between the
    /// first two tabs (`address<TAB>container-id<TAB>...`), compared byte by byte.
    static func isLease(_ line: Substring, of containerID: String) -> Bool {
        let bytes = line.utf8
        guard bytes.first != UInt8(ascii: "#"), let tab = bytes.firstIndex(of: UInt8(ascii: "\t")) else { return false }
        let rest = bytes[bytes.index(after: tab)...]
        guard rest.starts(with: containerID.utf8) else { return false }
        let after = rest.index(rest.startIndex, offsetBy: containerID.utf8.count)
        return after == rest.endIndex || rest[after] == UInt8(ascii: "\t")
    }
}
