import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain rootfs ls|prune`: the trees `--rootfs FILE.tar[.gz]` unpacked (TarballRootfs), what
/// they take, where they came from, and which containers use them.
///
/// A tree is in use while a container record (running, created, or kept after `-d`) has it as
/// its root, or while a `contain` holds it pinned (between unpacking it and recording the
/// container, and for as long as it lives after). Pruning locks a tree exclusively before it
/// looks at the records, so a container recorded meanwhile keeps its tree.
public struct RootfsCache {
    public let directory: String

    public init(directory: String = TarballRootfs.defaultCache) { self.directory = directory }

    var index: TarballIndex { TarballIndex(directory: directory + "/" + TarballRootfs.indexDirectory) }

    public struct Source: Equatable, Sendable {
        public let path: String
        /// The file there is still the one that was hashed, unchanged.
        public let current: Bool
    }

    public struct Tree: Sendable {
        public let digest: String
        public let path: String
        /// Bytes allocated on disk, each inode once: what removing the tree frees.
        public let size: Int64
        /// When a container was last started from it (seconds since the epoch).
        public let lastUsed: Int64
        /// The tarballs it was unpacked from, as far as the index knows.
        public let sources: [Source]
        /// The containers whose root it is.
        public let users: [String]

        public var shortDigest: String { String(digest.prefix(12)) }
        /// No tarball known to hold these bytes any more (gone, changed, or never indexed).
        public var isDangling: Bool { !sources.contains(where: \.current) }
    }

    /// Every unpacked tree, the most recently used first.
    public func list(stateRoot: String) -> [Tree] {
        let users = Self.users(stateRoot: stateRoot)
        var sources: [String: [Source]] = [:]
        var used: [String: Int64] = [:]
        for (_, entry, lastUsed) in index.contents() {
            guard let entry else { continue }
            let source = Source(path: entry.path, current: TarballIndex.FileState.of(path: entry.path) == entry.file)
            var known = sources[entry.digest, default: []]
            if let i = known.firstIndex(where: { $0.path == source.path }) {
                if source.current { known[i] = source }
            } else {
                known.append(source)
            }
            sources[entry.digest] = known
            used[entry.digest] = max(used[entry.digest] ?? 0, lastUsed.seconds)
        }
        let names = ((try? Files.list(directory)) ?? []).filter { TarballRootfs.isDigest($0) }
        return names.compactMap { digest -> Tree? in
            let path = directory + "/" + digest
            var st = stat()
            guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return nil }
            return Tree(digest: digest, path: path, size: Self.diskUsage(path), lastUsed: max(used[digest] ?? 0, Int64(st.st_ctim.tv_sec)),
                        sources: sources[digest] ?? [], users: users[[UInt64(st.st_dev), UInt64(st.st_ino)]] ?? [])
        }.sorted { ($0.lastUsed, $0.digest) > ($1.lastUsed, $1.digest) }
    }

    public struct PruneReport: Sendable {
        public var removed: [Tree] = []
        public var reclaimed: Int64 = 0
        public var failures: [String] = []
    }

    /// Removes the trees no container uses: with `all` every one of them (a later start from
    /// its tarball unpacks it again), otherwise only dangling ones. Also removes what was left
    /// by a `contain` that died: stagings and removals nobody holds, index entries that cannot
    /// be read, and entries for tarballs that changed whose tree is gone.
    public func prune(all: Bool, stateRoot: String) -> PruneReport {
        var report = PruneReport()
        var locked: [(tree: Tree, fd: Int32, key: [UInt64])] = []
        for tree in list(stateRoot: stateRoot) where tree.users.isEmpty && (all || tree.isDangling) {
            if let (fd, key) = Self.lockExclusively(tree.path) { locked.append((tree, fd, key)) }
        }
        // Looked at again now that they are locked: whoever starts a container from a tree
        // pins it first, so a record made since the listing is seen here.
        let users = Self.users(stateRoot: stateRoot)
        for (tree, fd, key) in locked {
            defer { close(fd) }
            guard users[key] == nil else { continue }
            do {
                try remove(tree.path)
                report.removed.append(tree)
                report.reclaimed += tree.size
            } catch {
                report.failures.append("removing rootfs \(tree.shortDigest): \(error)")
            }
        }
        for name in (try? Files.list(directory)) ?? [] where name.hasPrefix(".new-") || name.hasPrefix(".old-") {
            let path = directory + "/" + name
            guard let (fd, _) = Self.lockExclusively(path) else { continue }  // still being unpacked or removed
            defer { close(fd) }
            do { try Files.removeTree(path) } catch { report.failures.append("removing \(path): \(error)") }
        }
        for (name, entry, _) in index.contents() {
            if let pid = Self.writer(ofTemporary: name) {
                if kill(pid, 0) != 0 && errno == ESRCH { index.remove(name) }
                continue
            }
            guard let entry else { index.remove(name); continue }
            if TarballIndex.FileState.of(path: entry.path) != entry.file && !Files.isDirectory(directory + "/" + entry.digest) {
                index.remove(name)
            }
        }
        return report
    }

    /// Renamed out of the way first, so no start finds it half removed.
    private func remove(_ tree: String) throws {
        let doomed = directory + "/.old-" + (try Identifiers.randomHex(bytes: 8))
        try sys("rename", path: tree) { rename(tree, doomed) }
        try Files.removeTree(doomed)
    }

    /// The directory locked exclusively if nobody holds it, and still at `path` once locked.
    static func lockExclusively(_ path: String) -> (fd: Int32, key: [UInt64])? {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var held = stat()
        var named = stat()
        guard flock(fd, LOCK_EX | LOCK_NB) == 0, fstat(fd, &held) == 0, stat(path, &named) == 0,
              held.st_dev == named.st_dev, held.st_ino == named.st_ino else {
            close(fd)
            return nil
        }
        return (fd, [UInt64(held.st_dev), UInt64(held.st_ino)])
    }

    /// Files.writeAtomically's temporary (`NAME.tmp.PID`): the pid that writes it.
    static func writer(ofTemporary name: String) -> pid_t? {
        guard let range = name.firstRange(of: ".tmp.") else { return nil }
        return pid_t(name[range.upperBound...])
    }

    /// The containers using each directory (device, inode) as their root.
    static func users(stateRoot: String) -> [[UInt64]: [String]] {
        var users: [[UInt64]: [String]] = [:]
        for view in ContainerRecord.list(stateRoot: stateRoot) {
            var roots = [view.info.rootfs]
            if let config = try? ContainerRecord.configuration(of: view) { roots.append(config.root.path) }
            var keys = Set<[UInt64]>()
            for root in roots {
                var st = stat()
                if stat(root, &st) == 0 { keys.insert([UInt64(st.st_dev), UInt64(st.st_ino)]) }
            }
            for key in keys { users[key, default: []].append(view.info.id) }
        }
        return users
    }

    /// Blocks allocated under `path`, directories included, each inode once.
    static func diskUsage(_ path: String) -> Int64 { Files.treeUsage(path, counting: .allocatedBlocks) }
}
