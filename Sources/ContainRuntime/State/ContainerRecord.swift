import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// The on-disk trace of a running container, so that nothing outlives a runtime killed with -9:
///
///     <state root>/containers/<id>/
///         lock      flock(LOCK_EX) held by the owning `contain` for as long as it lives
///         cgroups   the container's cgroup directories, written before any is created
///
/// The kernel drops the lock when its owner dies, however it dies; a lock that can be taken
/// therefore marks an abandoned container (no pid-reuse guessing needed). It is created under
/// a dot name and renamed into place only once locked, so a half-made record is never reclaimed
/// from under its owner.
public final class ContainerRecord {
    public static let defaultStateRoot = "/run/contain"

    public let directory: String
    private let lockFD: Int32

    private init(directory: String, lockFD: Int32) {
        self.directory = directory
        self.lockFD = lockFD
    }

    static func containersDirectory(_ stateRoot: String) -> String { stateRoot + "/containers" }

    public static func create(stateRoot: String, id: String, cgroupDirectories: [String]) throws -> ContainerRecord {
        let parent = containersDirectory(stateRoot)
        try Files.makeDirectories(parent, mode: 0o711)
        let staging = parent + "/.new-" + id
        let final = parent + "/" + id
        try Files.makeDirectory(staging, mode: 0o700)
        do {
            let fd = try sys("open", path: staging + "/lock") { open(staging + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
            do {
                try sys("flock", path: staging + "/lock") { flock(fd, LOCK_EX | LOCK_NB) }
                try Files.write(staging + "/cgroups", cgroupDirectories.map { $0 + "\n" }.joined(), create: true, mode: 0o600)
                try sys("rename", path: final) { rename(staging, final) }
            } catch {
                close(fd)
                throw error
            }
            return ContainerRecord(directory: final, lockFD: fd)
        } catch {
            try? Files.removeTree(staging)
            throw error
        }
    }

    /// Removes the record and lets go of the lock.
    public func remove() {
        try? Files.removeTree(directory)
        close(lockFD)
    }

    /// Reclaims every container whose runtime died: kills what is left in its cgroups, removes
    /// them and the record. Returns the ids reclaimed, and reports each through `report`.
    @discardableResult
    public static func reclaimAbandoned(stateRoot: String, report: (String) -> Void = { _ in }) -> [String] {
        let parent = containersDirectory(stateRoot)
        guard let names = try? Files.list(parent) else { return [] }
        var reclaimed: [String] = []
        for name in names {
            let dir = parent + "/" + name
            if name.hasPrefix(".new-") {
                // Staging left by a runtime that died while creating it; give a live one time.
                if isOlderThan(dir, seconds: 60) { try? Files.removeTree(dir) }
                continue
            }
            let fd = open(dir + "/lock", O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }  // owner alive
            let cgroups = ((try? Files.read(dir + "/cgroups")) ?? "").split(separator: "\n").map(String.init)
            do {
                try ContainerCgroup.remove(directories: cgroups)
                try Files.removeTree(dir)
                reclaimed.append(name)
                report("reclaimed container \(name.prefix(12)) left by a runtime that died")
            } catch {
                report("could not reclaim container \(name.prefix(12)): \(error)")
            }
        }
        return reclaimed
    }

    private static func isOlderThan(_ path: String, seconds: Int) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        return time(nil) - st.st_mtim.tv_sec > seconds
    }
}
