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
    public let info: ContainerInfo
    private let stateRoot: String
    private var lockFD: Int32

    private init(directory: String, info: ContainerInfo, stateRoot: String, lockFD: Int32) {
        self.directory = directory
        self.info = info
        self.stateRoot = stateRoot
        self.lockFD = lockFD
    }

    static func containersDirectory(_ stateRoot: String) -> String { stateRoot + "/containers" }
    static func namesDirectory(_ stateRoot: String) -> String { stateRoot + "/names" }

    public static func create(stateRoot: String, info: ContainerInfo, cgroupDirectories: [String]) throws -> ContainerRecord {
        let id = info.id
        let parent = containersDirectory(stateRoot)
        try Files.makeDirectories(parent, mode: 0o711)
        if let name = info.name { try claim(name: name, id: id, stateRoot: stateRoot) }
        let staging = parent + "/.new-" + id
        let final = parent + "/" + id
        try Files.makeDirectory(staging, mode: 0o700)
        do {
            let fd = try sys("open", path: staging + "/lock") { open(staging + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
            do {
                try sys("flock", path: staging + "/lock") { flock(fd, LOCK_EX | LOCK_NB) }
                try Files.write(staging + "/cgroups", cgroupDirectories.map { $0 + "\n" }.joined(), create: true, mode: 0o600)
                try Files.write(staging + "/config", info.serialized, create: true, mode: 0o600)
                try sys("rename", path: final) { rename(staging, final) }
            } catch {
                close(fd)
                throw error
            }
            return ContainerRecord(directory: final, info: info, stateRoot: stateRoot, lockFD: fd)
        } catch {
            try? Files.removeTree(staging)
            if let name = info.name { release(name: name, id: id, stateRoot: stateRoot) }
            throw error
        }
    }

    /// Names are unique among containers that have a record: `<root>/names/NAME` is a symlink
    /// to the id, made with symlink(2), which either creates it or fails, atomically.
    static func claim(name: String, id: String, stateRoot: String) throws {
        let names = namesDirectory(stateRoot)
        try Files.makeDirectories(names, mode: 0o711)
        let link = names + "/" + name
        for _ in 0..<3 {
            if symlink(id, link) == 0 { return }
            guard errno == EEXIST else { throw SystemError.last("claim name", path: name) }
            let owner = (try? Files.readLink(link)) ?? ""
            if !owner.isEmpty && Files.isDirectory(containersDirectory(stateRoot) + "/" + owner) {
                throw RunFailure.runtime("the name `\(name)` is already in use by container \(owner.prefix(12))")
            }
            unlink(link)  // its container is gone: the name is free
        }
        throw RunFailure.runtime("the name `\(name)` is already in use")
    }

    static func release(name: String, id: String, stateRoot: String) {
        let link = namesDirectory(stateRoot) + "/" + name
        if (try? Files.readLink(link)) == id { unlink(link) }
    }

    public func writeStatus(_ status: ContainerStatus) {
        try? Files.writeAtomically(directory + "/state", status.serialized, mode: 0o600)
    }

    /// Removes the record and lets go of the lock.
    public func remove() {
        if let name = info.name { Self.release(name: name, id: info.id, stateRoot: stateRoot) }
        try? Files.removeTree(directory)
        if lockFD >= 0 { close(lockFD) }
        lockFD = -1
    }

    /// The container ended: a kept record (detached, no --rm) stays with its exit status for
    /// `ps -a`, `logs` and `rm`; any other is removed.
    public func finish(exitCode: Int32?, status: ContainerStatus) {
        guard info.keep, let exitCode else { remove(); return }
        var final = status
        final.exitCode = exitCode
        final.finished = time(nil)
        writeStatus(final)
        unlink(directory + "/cgroups")
        if lockFD >= 0 { close(lockFD) }
        lockFD = -1
    }

    // MARK: looking containers up

    public static func list(stateRoot: String) -> [ContainerView] {
        let parent = containersDirectory(stateRoot)
        guard let names = try? Files.list(parent) else { return [] }
        return names.filter { !$0.hasPrefix(".") }.compactMap { view(directory: parent + "/" + $0) }
            .sorted { ($0.info.created, $0.info.id) > ($1.info.created, $1.info.id) }
    }

    /// The container whose record is `directory`, as it is now (nil once removed).
    public static func find(directory: String) -> ContainerView? { view(directory: directory) }

    static func view(directory: String) -> ContainerView? {
        guard let info = (try? Files.read(directory + "/config")).flatMap(ContainerInfo.init(parsing:)) else { return nil }
        let status = ContainerStatus(parsing: (try? Files.read(directory + "/state")) ?? "")
        let state: ContainerView.State
        let fd = open(directory + "/lock", O_RDWR | O_CLOEXEC)
        if fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) != 0 {
            state = .running
        } else if let code = status.exitCode {
            state = .exited(code)
        } else {
            state = .dead
        }
        if fd >= 0 { close(fd) }
        return ContainerView(directory: directory, info: info, status: status, state: state)
    }

    /// A container by name, full id or unique id prefix.
    public static func find(stateRoot: String, _ reference: String) throws -> ContainerView {
        if !reference.contains("/"), let id = try? Files.readLink(namesDirectory(stateRoot) + "/" + reference),
           let found = view(directory: containersDirectory(stateRoot) + "/" + id) {
            return found
        }
        let matches = list(stateRoot: stateRoot).filter { $0.info.id.hasPrefix(reference) && !reference.isEmpty }
        if matches.count == 1 { return matches[0] }
        if matches.count > 1 { throw RunFailure.runtime("`\(reference)` matches \(matches.count) containers; give more of the id") }
        throw RunFailure.runtime("no such container: \(reference)")
    }

    /// `contain rm`: removes a record whose container has ended.
    public static func removeEnded(_ view: ContainerView, stateRoot: String) throws {
        if let name = view.info.name { release(name: name, id: view.info.id, stateRoot: stateRoot) }
        try Files.removeTree(view.directory)
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
            // A kept record of a container that ended normally is not abandoned.
            if ContainerStatus(parsing: (try? Files.read(dir + "/state")) ?? "").exitCode != nil { continue }
            let cgroups = ((try? Files.read(dir + "/cgroups")) ?? "").split(separator: "\n").map(String.init)
            do {
                try ContainerCgroup.remove(directories: cgroups)
                if let info = (try? Files.read(dir + "/config")).flatMap(ContainerInfo.init(parsing:)), let n = info.name {
                    release(name: n, id: info.id, stateRoot: stateRoot)
                }
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
