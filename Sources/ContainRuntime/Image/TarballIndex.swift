import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// What each `--rootfs FILE.tar[.gz]` hashed to, so that an unchanged tarball is not read again
/// on every start:
///
///     <cache>/index/<dev>-<ino>    one entry per tarball file, named by its device and inode
///
/// An entry holds the file's size, mtime and ctime (with nanoseconds) as they were when it was
/// hashed, when the hashing began, the SHA-256, and the path it was used by. It answers only
/// while all of them still hold and the file's last change was clearly before the hashing
/// began; anything else (a mismatch, a missing or unreadable entry) means hashing again.
///
/// Why that is enough: every write, truncation, chmod or utimes sets the ctime to the current
/// time, and nobody can set it back; a file replaced by rename is another inode, and an inode
/// number used again belongs to a file created later, with a later ctime. What timestamps
/// cannot tell apart is two changes within one tick of their clock (the kernel's coarse clock,
/// 10 ms at most, rounded to the filesystem's granularity). So an entry whose ctime is not
/// older than the hashing by more than that ("racy", as git calls it) is written but not
/// trusted; the next start hashes again, and its entry, written later, is.
public struct TarballIndex {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// A point in time as the kernel stamps files.
    public struct Timestamp: Equatable, Comparable, Sendable, CustomStringConvertible {
        public var seconds: Int64
        public var nanoseconds: Int64

        public init(seconds: Int64, nanoseconds: Int64) {
            self.seconds = seconds
            self.nanoseconds = nanoseconds
        }

        init(_ t: timespec) { self.init(seconds: Int64(t.tv_sec), nanoseconds: Int64(t.tv_nsec)) }

        public static func now() -> Timestamp {
            var t = timespec()
            clock_gettime(CLOCK_REALTIME, &t)
            return Timestamp(t)
        }

        public static func < (a: Timestamp, b: Timestamp) -> Bool { (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds) }

        func adding(nanoseconds delta: Int64) -> Timestamp {
            let total = nanoseconds + delta
            return Timestamp(seconds: seconds + total / 1_000_000_000, nanoseconds: total % 1_000_000_000)
        }

        /// `SECONDS.NNNNNNNNN`
        public var description: String {
            let fraction = String(nanoseconds)
            return String(seconds) + "." + String(repeating: "0", count: max(0, 9 - fraction.count)) + fraction
        }

        init?(parsing text: Substring) {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 2, parts[1].count == 9, parts[1].allSatisfy({ $0 >= "0" && $0 <= "9" }),
                  let seconds = Int64(parts[0]), let nanoseconds = Int64(parts[1]), nanoseconds >= 0 else { return nil }
            self.init(seconds: seconds, nanoseconds: nanoseconds)
        }
    }

    /// What fstat says about a tarball: which file it is, and what any change to it alters.
    public struct FileState: Equatable, Sendable {
        public var device: UInt64
        public var inode: UInt64
        public var size: Int64
        public var modified: Timestamp
        public var changed: Timestamp

        public init(device: UInt64, inode: UInt64, size: Int64, modified: Timestamp, changed: Timestamp) {
            self.device = device
            self.inode = inode
            self.size = size
            self.modified = modified
            self.changed = changed
        }

        init(_ st: stat) {
            self.init(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
                      modified: Timestamp(st.st_mtim), changed: Timestamp(st.st_ctim))
        }

        public static func of(fd: Int32, path: String) throws -> FileState {
            var st = stat()
            try sys("stat", path: path) { fstat(fd, &st) }
            return FileState(st)
        }

        /// nil when the path is gone (or is not a regular file).
        public static func of(path: String) -> FileState? {
            var st = stat()
            guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
            return FileState(st)
        }

        /// The entry's name: `<dev>-<ino>`.
        var key: String { "\(device)-\(inode)" }
    }

    public struct Entry: Equatable, Sendable {
        public var file: FileState
        /// When the file was looked at, before it was read for its digest.
        public var hashed: Timestamp
        /// SHA-256, 64 lowercase hex digits.
        public var digest: String
        /// The path the tarball was used by (its real path) when the entry was written.
        public var path: String

        public init(file: FileState, hashed: Timestamp, digest: String, path: String) {
            self.file = file
            self.hashed = hashed
            self.digest = digest
            self.path = path
        }

        /// The file's last change was more than a clock tick before the hashing began: any
        /// change since has a different ctime. A ctime without a fraction of a second is taken
        /// to come from a filesystem that keeps whole seconds (FAT: two).
        public var isTrusted: Bool {
            let margin: Int64 = file.changed.nanoseconds == 0 ? 3_000_000_000 : 100_000_000
            return file.changed.adding(nanoseconds: margin) < hashed
        }

        static let header = "contain rootfs index 1"

        /// One field a line, the path last (it runs to the end, so it may hold anything).
        var serialized: String {
            """
            \(Self.header)
            sha256 \(digest)
            size \(file.size)
            mtime \(file.modified)
            ctime \(file.changed)
            hashed \(hashed)
            path \(path)

            """
        }

        /// nil unless every field is there and well formed.
        init?(parsing text: String, device: UInt64, inode: UInt64) {
            guard text.hasSuffix("\n"), let pathRange = text.firstRange(of: "\npath ") else { return nil }
            let head = text[..<pathRange.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
            let path = String(text[pathRange.upperBound...].dropLast())
            guard head.count == 6, head[0] == Self.header, !path.isEmpty else { return nil }
            func field(_ line: Substring, _ name: String) -> Substring? {
                line.hasPrefix(name + " ") ? line.dropFirst(name.count + 1) : nil
            }
            guard let digest = field(head[1], "sha256"), TarballRootfs.isDigest(digest),
                  let size = field(head[2], "size").flatMap({ Int64($0) }), size >= 0,
                  let modified = field(head[3], "mtime").flatMap(Timestamp.init(parsing:)),
                  let changed = field(head[4], "ctime").flatMap(Timestamp.init(parsing:)),
                  let hashed = field(head[5], "hashed").flatMap(Timestamp.init(parsing:)) else { return nil }
            self.init(file: FileState(device: device, inode: inode, size: size, modified: modified, changed: changed),
                      hashed: hashed, digest: String(digest), path: path)
        }
    }

    func entryPath(_ file: FileState) -> String { directory + "/" + file.key }

    /// The digest of the tarball whose fstat is `file`, if an entry vouches for it.
    public func digest(for file: FileState) -> String? {
        guard let text = try? Files.read(entryPath(file)),
              let entry = Entry(parsing: text, device: file.device, inode: file.inode),
              entry.file == file, entry.isTrusted else { return nil }
        return entry.digest
    }

    /// Records what the tarball hashed to (replacing what was there, atomically), whether or
    /// not it can be trusted yet: `rootfs ls` shows where a tree came from either way.
    public func record(_ entry: Entry) throws {
        try Files.makeDirectories(directory, mode: 0o700)
        try Files.writeAtomically(entryPath(entry.file), entry.serialized, mode: 0o600)
    }

    /// The entry's mtime is when the tarball was last used to start a container.
    public func touch(_ file: FileState) {
        utimensat(AT_FDCWD, entryPath(file), nil, 0)
    }

    /// Every file in the index: its entry, or nil for anything unreadable or left over.
    public func contents() -> [(name: String, entry: Entry?, lastUsed: Timestamp)] {
        guard let names = try? Files.list(directory) else { return [] }
        return names.sorted().map { name in
            var st = stat()
            let lastUsed = stat(directory + "/" + name, &st) == 0 ? Timestamp(st.st_mtim) : Timestamp(seconds: 0, nanoseconds: 0)
            let key = name.split(separator: "-", omittingEmptySubsequences: false)
            guard key.count == 2, let device = UInt64(key[0]), let inode = UInt64(key[1]),
                  let text = try? Files.read(directory + "/" + name) else { return (name, nil, lastUsed) }
            return (name, Entry(parsing: text, device: device, inode: inode), lastUsed)
        }
    }

    public func remove(_ name: String) {
        unlink(directory + "/" + name)
    }
}
