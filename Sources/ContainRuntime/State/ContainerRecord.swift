import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// The on-disk trace of a container, so that nothing outlives a runtime killed with -9:
///
///     <state root>/containers/<id>/
///         lock      flock(LOCK_EX) held by the supervising `contain` for as long as it lives
///         cgroups   the container's cgroup directories, written before any is created
///         config    what the container is, for listing (ContainerInfo)
///         spec      its ContainerConfig, tagged encoding (exec starts from its process part)
///         state     where it is in its life (ContainerStatus): its init's pid@starttime first
///         start     `contain create` only: the FIFO `contain start` writes to
///         exit      a symlink to the exit status, which needs no data block (a full disk
///                   cannot lose it)
///     <state root>/names/<name> -> <id>
///
/// The container belongs to its init: a record whose lock can be taken (no supervisor) is
/// reclaimed only once the init it names is gone too. The record is made under a staging name
/// that carries its creator's identity (`.new-<id>-<pid>-<starttime>`) and renamed into place
/// once locked, so a half-made record is reclaimed as soon as its creator is dead and never
/// from under a live one.
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

    /// `generateName`: without a name in `info`, one is made as docker makes them
    /// (GeneratedName), another one tried while the one made is taken.
    public static func create(stateRoot: String, info: ContainerInfo, cgroupDirectories: [String],
                              configuration: ContainerConfig? = nil, startFIFO: Bool = false,
                              generateName: Bool = false) throws -> ContainerRecord {
        var info = info
        let id = info.id
        let parent = containersDirectory(stateRoot)
        try Files.makeDirectories(parent, mode: 0o711)
        // Staging first, then the name: a name link always has a record or a staging directory
        // behind it while its creator lives, so a dangling one is known to be left over.
        let creator = ProcessIdentity.current()
        let staging = parent + "/" + stagingName(id: id, owner: creator)
        let final = parent + "/" + id
        try Files.makeDirectory(staging, mode: 0o700)
        do {
            if let name = info.name {
                if let owner = try claim(name: name, id: id, creator: creator, stateRoot: stateRoot) {
                    throw RunFailure.nameInUse(name, owner: owner)
                }
            } else if generateName {
                for attempt in 0..<32 {
                    let name = GeneratedName.make(attempt: attempt) { UInt64.random(in: 0...UInt64.max) }
                    if try claim(name: name, id: id, creator: creator, stateRoot: stateRoot) == nil {
                        info.name = name
                        break
                    }
                }
            }
        } catch {
            try? Files.removeTree(staging)
            throw error
        }
        do {
            let fd = try sys("open", path: staging + "/lock") { open(staging + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
            do {
                try sys("flock", path: staging + "/lock") { flock(fd, LOCK_EX | LOCK_NB) }
                try Files.write(staging + "/cgroups", cgroupDirectories.map { $0 + "\n" }.joined(), create: true, mode: 0o600)
                try Files.write(staging + "/config", info.serialized, create: true, mode: 0o600)
                if let configuration { try Files.write(staging + "/spec", bytes: configuration.encoded(), mode: 0o600) }
                if startFIFO { try sys("mkfifo", path: staging + "/start") { mkfifo(staging + "/start", 0o600) } }
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

    /// A kept record of an ended container made live again, for `contain start` of an exited
    /// container and `--restart`: its supervisor's lock taken (refused while another holds it),
    /// its exit status, paused marker and old state gone, its cgroup directories written anew.
    /// The id, the name (its link names the record), the configuration, the copy-on-write
    /// layer and the log stay.
    public static func reopen(stateRoot: String, id: String, cgroupDirectories: [String]) throws -> ContainerRecord {
        let directory = containersDirectory(stateRoot) + "/" + id
        guard let view = view(directory: directory) else { throw RunFailure.noSuchContainer(id) }
        let fd = try sys("open", path: directory + "/lock") { open(directory + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        do {
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                throw RunFailure.runtime("container \(view.displayName) is already running")
            }
            // Looked at again under the lock: `rm` may have taken it, or another start won.
            guard let locked = Self.view(directory: directory), case .exited = locked.state else {
                throw RunFailure.runtime("container \(view.displayName) cannot be started: it is \(view.stateDescription)")
            }
            unlink(directory + "/exit")
            unlink(directory + "/" + pausedMarker)
            unlink(directory + "/" + stoppedByUserMarker)
            try Files.writeAtomically(directory + "/state", ContainerStatus().serialized, mode: 0o600)
            try Files.write(directory + "/cgroups", cgroupDirectories.map { $0 + "\n" }.joined(), create: true, mode: 0o600)
            return ContainerRecord(directory: directory, info: locked.info, stateRoot: stateRoot, lockFD: fd)
        } catch {
            close(fd)
            throw error
        }
    }

    /// `contain stop`, `kill` and `rm -f` leave this mark before they signal: a restart
    /// policy does not start again a container stopped by hand. It goes with the next start.
    public static let stoppedByUserMarker = "stopped-by-user"

    public static func markStoppedByUser(_ view: ContainerView) {
        let path = view.directory + "/" + stoppedByUserMarker
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        if fd >= 0 { close(fd) }
    }

    public var stoppedByUser: Bool { Files.exists(directory + "/" + Self.stoppedByUserMarker) }

    /// The same for the record of `id`, which a supervisor waiting to restart holds no object of.
    public static func isMarkedStoppedByUser(stateRoot: String, id: String) -> Bool {
        Files.exists(containersDirectory(stateRoot) + "/" + id + "/" + stoppedByUserMarker)
    }

    static func stagingName(id: String, owner: ProcessIdentity) -> String { ".new-\(id)-\(owner.pid)-\(owner.startTime)" }

    /// The creator named by a staging directory's name, nil if it is not one.
    static func stagingOwner(_ name: String) -> (id: String, owner: ProcessIdentity)? {
        guard name.hasPrefix(".new-") else { return nil }
        let parts = name.dropFirst(5).split(separator: "-")
        guard parts.count == 3, let pid = Int32(parts[1]), let start = UInt64(parts[2]) else { return nil }
        return (String(parts[0]), ProcessIdentity(pid: pid, startTime: start))
    }

    /// Names are unique among containers that have a record: `<root>/names/NAME` is a symlink
    /// made with symlink(2), which either creates it or fails, atomically. Its target is
    /// `<id>.<creator pid>.<creator start time>`, so whether the owner still lives is two exact
    /// checks, never a directory listing that a concurrent rename can slip past: its staging
    /// directory with a live creator (looked at first), or its record (after the rename). A
    /// stale link is replaced under `names/.lock`, so two claimants cannot both take it.
    /// Returns nil once the name is ours, or the id of the live container that has it.
    static func claim(name: String, id: String, creator: ProcessIdentity, stateRoot: String) throws -> String? {
        let names = namesDirectory(stateRoot)
        try Files.makeDirectories(names, mode: 0o711)
        let link = names + "/" + name
        let target = "\(id).\(creator.pid).\(creator.startTime)"
        if symlink(target, link) == 0 { return nil }
        guard errno == EEXIST else { throw SystemError.last("claim name", path: name) }
        return try withNamesLock(stateRoot) { () throws -> String? in
            while true {
                if symlink(target, link) == 0 { return nil }
                guard errno == EEXIST else { throw SystemError.last("claim name", path: name) }
                if let owner = (try? Files.readLink(link)).map(NameTarget.init), owner.isAlive(stateRoot: stateRoot) {
                    return owner.id
                }
                unlink(link)  // its container is gone: the name is free
            }
        }
    }

    /// What a name link points to: the id, and (links made since the lifecycle redesign) the
    /// identity of the process that created the record.
    struct NameTarget {
        let id: String
        let creator: ProcessIdentity?

        init(_ text: String) {
            let parts = text.split(separator: ".")
            id = parts.first.map(String.init) ?? text
            if parts.count == 3, let pid = Int32(parts[1]), let start = UInt64(parts[2]) {
                creator = ProcessIdentity(pid: pid, startTime: start)
            } else {
                creator = nil
            }
        }

        /// Staging first, then the record: the rename from one to the other cannot fall
        /// between the two checks unseen.
        func isAlive(stateRoot: String) -> Bool {
            let parent = containersDirectory(stateRoot)
            if let creator, Files.isDirectory(parent + "/" + stagingName(id: id, owner: creator)) && creator.isAlive {
                return true
            }
            return Files.isDirectory(parent + "/" + id)
        }
    }

    /// Serializes replacing stale name links (claims that found one, and the reclaimer).
    static func withNamesLock<T>(_ stateRoot: String, _ body: () throws -> T) throws -> T {
        let path = namesDirectory(stateRoot) + "/.lock"
        let fd = try sys("open", path: path) { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        defer { close(fd) }
        try sys("flock", path: path) { flock(fd, LOCK_EX) }
        return try body()
    }

    static func release(name: String, id: String, stateRoot: String) {
        let link = namesDirectory(stateRoot) + "/" + name
        if let target = try? Files.readLink(link), NameTarget(target).id == id { unlink(link) }
    }

    public func writeStatus(_ status: ContainerStatus) {
        try? Files.writeAtomically(directory + "/state", status.serialized, mode: 0o600)
    }

    /// Lets go of the lock and leaves the record as it is: the container is its init's, and an
    /// engine's (contain-oci's `create`).
    public func release() {
        if lockFD >= 0 { close(lockFD) }
        lockFD = -1
    }

    /// contain-oci's `start` of an engine's container: its init has taken the start request
    /// (nobody supervises it to say so), so it runs.
    public static func recordStarted(_ view: ContainerView) {
        var status = view.status
        status.phase = .running
        status.started = time(nil)
        try? Files.writeAtomically(view.directory + "/state", status.serialized, mode: 0o600)
    }

    /// Removes the record and lets go of the lock.
    public func remove() {
        if let name = info.name { Self.release(name: name, id: info.id, stateRoot: stateRoot) }
        Self.removeRecordDirectory(directory)
        if lockFD >= 0 { close(lockFD) }
        lockFD = -1
    }

    /// The container ended: a kept record (detached, no --rm) stays with its exit status for
    /// `ps -a`, `logs` and `rm`; any other is removed. Returns what went wrong, if anything.
    public func finish(exitCode: Int32?, status: ContainerStatus) -> String? {
        guard info.keep, let exitCode else { remove(); return nil }
        var final = status
        final.exitCode = exitCode
        final.finished = time(nil)
        // The symlink first: it takes no data block, so a full disk still keeps the status.
        unlink(directory + "/exit")
        let linked = symlink(String(exitCode), directory + "/exit") == 0
        var failure: String?
        do { try Files.writeAtomically(directory + "/state", final.serialized, mode: 0o600) } catch {
            failure = linked ? nil : "recording the exit status of \(info.id.prefix(12)): \(error)"
        }
        unlink(directory + "/cgroups")
        unlink(directory + "/start")
        if lockFD >= 0 { close(lockFD) }
        lockFD = -1
        return failure
    }

    /// `contain create`'s start FIFO, opened by its supervisor: it holds a write end of its own,
    /// so the read end is readable only when `contain start` has written.
    public struct StartFIFO {
        public let readFD: Int32
        let writeFD: Int32
        public func close() { Glibc.close(readFD); Glibc.close(writeFD) }
    }

    public func openStartFIFO() throws -> StartFIFO {
        let path = directory + "/start"
        let readFD = try sys("open", path: path) { open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC) }
        guard let writeFD = try? sys("open", path: path, { open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC) }) else {
            let error = SystemError.last("open", path: path)
            close(readFD)
            throw error
        }
        return StartFIFO(readFD: readFD, writeFD: writeFD)
    }

    /// The container's configuration as it was created (`spec`, the tagged encoding).
    public static func configuration(of view: ContainerView) throws -> ContainerConfig {
        let path = view.directory + "/spec"
        do {
            return try ContainerConfig(decoding: try Files.readBytes(path))
        } catch let error as TaggedDecodingError {
            throw RunFailure.runtime("container \(view.displayName): its configuration `\(path)` cannot be read: \(error)")
        }
    }

    /// Rewrites the container's configuration (`net connect` and `disconnect` record the
    /// networks it is on, which `ps` shows and a restart joins again, as docker does); the new
    /// file replaces the old one whole.
    public static func updateConfiguration(of view: ContainerView, _ change: (inout ContainerConfig) -> Void) throws {
        var config = try configuration(of: view)
        change(&config)
        let path = view.directory + "/spec", temporary = path + ".tmp.\(getpid())"
        do {
            try Files.write(temporary, bytes: config.encoded(), mode: 0o600)
            try sys("rename", path: path) { rename(temporary, path) }
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// `contain start`: asks the supervisor of a created container to start it.
    /// `untilExec` (an engine's container, whose init reads the FIFO itself): returns once the
    /// init has exec'd the process (or ended): its read end, close-on-exec, is gone.
    public static func requestStart(_ view: ContainerView, untilExec: Bool = false) throws {
        let path = view.directory + "/start"
        var fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        // ENXIO just after `create` returned: its supervisor has said the container waits, and is
        // about to open the FIFO (an OCI engine starts at once). Give it a moment (10 s at most).
        var tries = 0
        while fd < 0 && errno == ENXIO && tries < 2000 {
            usleep(5_000)
            tries += 1
            fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        }
        guard fd >= 0 else {
            // ENXIO: nobody has it open for reading; ENOENT: not a created container.
            throw RunFailure.runtime("container \(view.displayName) is not waiting to start (\(view.stateDescription))")
        }
        defer { close(fd) }
        var byte: UInt8 = 1
        try sys("write", path: path) { write(fd, &byte, 1) }
        guard untilExec else { return }
        // No events asked: poll returns on POLLERR, when no reader is left (10 s at most).
        var ended = pollfd(fd: fd, events: 0, revents: 0)
        while poll(&ended, 1, 10_000) < 0 && errno == EINTR {}
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

    /// Whether a supervisor holds the record's lock (a probe that takes nothing).
    static func isSupervised(directory: String) -> Bool {
        let fd = open(directory + "/lock", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return flock(fd, LOCK_SH | LOCK_NB) != 0
    }

    static func view(directory: String) -> ContainerView? {
        guard let info = (try? Files.read(directory + "/config")).flatMap(ContainerInfo.init(parsing:)) else { return nil }
        var status = ContainerStatus(parsing: (try? Files.read(directory + "/state")) ?? "")
        if status.exitCode == nil, let code = (try? Files.readLink(directory + "/exit")).flatMap({ Int32($0) }) {
            status.exitCode = code
        }
        let state: ContainerView.State
        let supervised = isSupervised(directory: directory)
        let alive = status.exitCode == nil && (supervised || status.pid?.isAlive == true)
        if alive {
            state = status.phase == .created || (status.phase == nil && supervised) ? .created : .running
        } else if let code = status.exitCode {
            state = .exited(code)
        } else {
            state = .dead
        }
        return ContainerView(directory: directory, info: info, status: status, state: state,
                             paused: state == .running && Files.exists(directory + "/" + pausedMarker))
    }

    /// A container by name, full id or unique id prefix.
    public static func find(stateRoot: String, _ reference: String) throws -> ContainerView {
        if !reference.contains("/"), !reference.hasPrefix("."),
           let target = try? Files.readLink(namesDirectory(stateRoot) + "/" + reference),
           let found = view(directory: containersDirectory(stateRoot) + "/" + NameTarget(target).id) {
            return found
        }
        let matches = list(stateRoot: stateRoot).filter { $0.info.id.hasPrefix(reference) && !reference.isEmpty }
        if matches.count == 1 { return matches[0] }
        if matches.count > 1 { throw RunFailure.runtime("`\(reference)` matches \(matches.count) containers; give more of the id") }
        throw RunFailure.noSuchContainer(reference)
    }

    /// `contain rm`: removes a record whose container has ended, and whatever a container that
    /// ended unsupervised left (its cgroups).
    public static func removeEnded(_ view: ContainerView, stateRoot: String) throws {
        let cgroups = ((try? Files.read(view.directory + "/cgroups")) ?? "").split(separator: "\n").map(String.init)
        try ContainerCgroup.remove(directories: cgroups)
        if let name = view.info.name { release(name: name, id: view.info.id, stateRoot: stateRoot) }
        removeRecordDirectory(view.directory)
    }

    /// A record disappears at once, never half: it is renamed out of sight (`.gone-<id>`) and
    /// then removed; what a removal killed midway leaves is swept by the next reclaim.
    static func removeRecordDirectory(_ directory: String) {
        let parent = String(directory[..<(directory.lastIndex(of: "/") ?? directory.startIndex)])
        let name = String(directory[directory.index(after: directory.lastIndex(of: "/") ?? directory.startIndex)...])
        let gone = parent + "/.gone-" + name
        try? Files.removeTree(rename(directory, gone) == 0 ? gone : directory)
    }

    /// Reclaims every container whose supervisor and init are both gone without recording an
    /// exit: kills what is left in its cgroups, removes them and the record. Also removes
    /// staging directories of dead creators and names whose container is gone. Returns the ids
    /// reclaimed, and reports each through `report`.
    @discardableResult
    public static func reclaimAbandoned(stateRoot: String, report: (String) -> Void = { _ in }) -> [String] {
        reclaimAbandonedContainers(stateRoot: stateRoot, report: report).map(\.info.id)
    }

    /// The same, returning the records as they were (the caller may have more to reclaim for
    /// them: a network lease).
    public static func reclaimAbandonedContainers(stateRoot: String, report: (String) -> Void = { _ in }) -> [ContainerView] {
        let parent = containersDirectory(stateRoot)
        guard let entries = try? Files.list(parent) else { return [] }
        var reclaimed: [ContainerView] = []
        for entry in entries {
            let dir = parent + "/" + entry
            if entry.hasPrefix(".gone-") {
                try? Files.removeTree(dir)  // a removal that was cut short
                continue
            }
            if entry.hasPrefix(".new-") {
                // Staging: reclaimable once its creator is dead (an old-style name: after a minute).
                let dead = stagingOwner(entry).map { !$0.owner.isAlive } ?? isOlderThan(dir, seconds: 60)
                if dead { try? Files.removeTree(dir) }
                continue
            }
            // Dead: no supervisor holds the lock, its init is gone, and no exit was recorded. An
            // engine's container, once created, waits for the engine's `delete` (stopped).
            // A supervised one is skipped before its record is read: every start looks at all.
            guard !isSupervised(directory: dir), let found = view(directory: dir), found.state == .dead,
                  !(found.info.ownedByEngine && found.status.phase != nil) else { continue }
            // Taken only now (a lock of our own would make the view think it supervised), so
            // that two reclaimers, or a reclaimer and `rm`, do not both remove it.
            let fd = open(dir + "/lock", O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0, let view = view(directory: dir) else { continue }
            do {
                try removeEnded(view, stateRoot: stateRoot)
                reclaimed.append(view)
                report("reclaimed container \(entry.prefix(12)) left by a runtime that died")
            } catch {
                report("could not reclaim container \(entry.prefix(12)): \(error)")
            }
        }
        releaseDanglingNames(stateRoot: stateRoot,
                             records: Set(entries.filter { !$0.hasPrefix(".") }).subtracting(reclaimed.map { $0.info.id }))
        return reclaimed
    }

    /// Names whose container has neither a record nor a staging directory of a live creator:
    /// its creator died between claiming the name and making the record, or while removing it.
    /// `records`: ids whose records were there a moment ago; their names are not looked at
    /// further (`rm` releases a name with its record), so only the others take the names' lock.
    /// With `records` given, names no more than records mean none dangles but where a record
    /// has no name (an engine's container), and a dangling name is harmless until claimed,
    /// which replaces it (claim): the links are then not read at all.
    static func releaseDanglingNames(stateRoot: String, records: Set<String>? = nil) {
        let names = namesDirectory(stateRoot)
        guard let links = try? Files.list(names) else { return }
        if let records, links.count(where: { !$0.hasPrefix(".") }) <= records.count { return }
        let records = records ?? []
        let suspects = links.filter { link in
            guard !link.hasPrefix("."), let target = try? Files.readLink(names + "/" + link) else { return false }
            return !records.contains(NameTarget(target).id)
        }
        guard !suspects.isEmpty else { return }
        _ = try? withNamesLock(stateRoot) {
            for link in suspects {
                guard let target = try? Files.readLink(names + "/" + link) else { continue }
                if !NameTarget(target).isAlive(stateRoot: stateRoot) { unlink(names + "/" + link) }
            }
        }
    }

    private static func isOlderThan(_ path: String, seconds: Int) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        return time(nil) - st.st_mtim.tv_sec > seconds
    }
}
