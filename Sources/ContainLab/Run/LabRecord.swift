import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// What a lab made, kept so that `lab down` removes all of it, and nothing else, even after
/// `lab up` was killed halfway:
///
///     <state root>/labs/NAME/
///         lab.yaml   the file as it was brought up (down, inspect and graph read this copy)
///         source     the file's absolute path
///         options    `no-netem` when it was brought up with --no-netem
///         made       `network NAME` / `node CONTAINER`, one line each, written before it is made
///         lock       flock(LOCK_EX) held by up and down
struct LabRecord {
    let directory: String
    let name: String

    init(stateRoot: String, name: String) {
        self.name = name
        directory = Self.root(stateRoot) + "/" + name
    }

    static func root(_ stateRoot: String) -> String { stateRoot + "/labs" }

    /// The names of the labs on record.
    static func names(stateRoot: String) -> [String] {
        ((try? Files.list(root(stateRoot))) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    var exists: Bool { Files.exists(directory + "/source") }
    var text: String? { try? Files.read(directory + "/lab.yaml") }
    var source: String? { (try? Files.read(directory + "/source"))?.split(separator: "\n").first.map(String.init) }

    enum Kind: String { case network, node }

    /// What was made (or begun), in order.
    var made: [(kind: Kind, name: String)] {
        ((try? Files.read(directory + "/made")) ?? "").split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard words.count == 2, let kind = Kind(rawValue: words[0]) else { return nil }
            return (kind, words[1])
        }
    }

    /// Takes the lab's lock, waiting for another up or down of it to finish; released when
    /// the descriptor is closed (or the process dies).
    func lock() throws -> Int32 {
        try Files.makeDirectories(directory, mode: 0o700)
        let path = directory + "/lock"
        let fd = try sys("open", path: path) { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        do {
            try sys("flock", path: path) { flock(fd, LOCK_EX) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    func start(text: String, source: String, withoutNetem: Bool) throws {
        try Files.writeAtomically(directory + "/lab.yaml", text, mode: 0o600)
        try Files.writeAtomically(directory + "/source", source + "\n", mode: 0o600)
        try Files.writeAtomically(directory + "/options", withoutNetem ? "no-netem\n" : "", mode: 0o600)
    }

    /// Brought up with --no-netem: its impairments are their rates alone.
    var withoutNetem: Bool { ((try? Files.read(directory + "/options")) ?? "").contains("no-netem") }

    /// Notes `name` before it is made; a line already there is not written again.
    func note(_ kind: Kind, _ name: String) throws {
        guard !made.contains(where: { $0.kind == kind && $0.name == name }) else { return }
        let path = directory + "/made"
        let fd = try sys("open", path: path) { open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600) }
        defer { close(fd) }
        var line = "\(kind.rawValue) \(name)\n"
        let written = line.withUTF8 { write(fd, $0.baseAddress, $0.count) }
        guard written == line.utf8.count else { throw SystemError("write", path: path, errno: written < 0 ? errno : EIO) }
        fsync(fd)
    }

    func remove() throws { try Files.removeTree(directory) }
}
