import ContainSystem
import Glibc
import Testing
@testable import ContainRuntime

/// The index that spares hashing an unchanged tarball: what it trusts, and everything that
/// must make it hash again.
@Suite struct TarballIndexTests {
    typealias Timestamp = TarballIndex.Timestamp
    typealias FileState = TarballIndex.FileState

    static func temporaryDirectory() throws -> String {
        var template = Array("/tmp/contain-index-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError.last("mkdtemp") }
        return String(cString: made)
    }

    static let digest = String(repeating: "ab", count: 32)

    static func state(_ path: String) throws -> FileState {
        try #require(FileState.of(path: path))
    }

    /// An entry written well after the file's last change: trusted.
    static func settled(_ file: FileState, digest: String = digest, path: String = "/x.tar") -> TarballIndex.Entry {
        TarballIndex.Entry(file: file, hashed: Timestamp(seconds: file.changed.seconds + 5, nanoseconds: 0), digest: digest, path: path)
    }

    /// Lets the kernel's coarse clock (a tick of at most 10 ms) move on, so the next change
    /// stamps a different time.
    static func nextTick() { usleep(30_000) }

    static func setModified(_ path: String, _ t: Timestamp) {
        var times = [timespec(tv_sec: Int(t.seconds), tv_nsec: Int(t.nanoseconds)),
                     timespec(tv_sec: Int(t.seconds), tv_nsec: Int(t.nanoseconds))]
        utimensat(AT_FDCWD, path, &times, 0)
    }

    @Test func anUnchangedFileIsAHit() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? Files.removeTree(dir) }
        let index = TarballIndex(directory: dir + "/index")
        try Files.write(dir + "/t.tar", "first", create: true)
        let file = try Self.state(dir + "/t.tar")
        #expect(index.digest(for: file) == nil, "nothing recorded yet")
        try index.record(Self.settled(file))
        #expect(index.digest(for: file) == Self.digest)
        #expect(index.digest(for: try Self.state(dir + "/t.tar")) == Self.digest)
        #expect(Files.exists(dir + "/index/\(file.device)-\(file.inode)"))
    }

    @Test func anyDifferenceInSizeTimesOrIdentityIsAMiss() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? Files.removeTree(dir) }
        let index = TarballIndex(directory: dir)
        let file = FileState(device: 64769, inode: 1234, size: 100 << 20,
                             modified: Timestamp(seconds: 1_700_000_000, nanoseconds: 123_456_789),
                             changed: Timestamp(seconds: 1_700_000_000, nanoseconds: 223_456_789))
        try index.record(Self.settled(file))
        #expect(index.digest(for: file) == Self.digest)
        var other = file
        other.size += 1
        #expect(index.digest(for: other) == nil, "size")
        other = file
        other.modified.nanoseconds += 1
        #expect(index.digest(for: other) == nil, "mtime, to the nanosecond")
        other = file
        other.modified.seconds -= 1
        #expect(index.digest(for: other) == nil, "mtime set back")
        other = file
        other.changed.nanoseconds += 1
        #expect(index.digest(for: other) == nil, "ctime, to the nanosecond")
        other = file
        other.inode += 1
        #expect(index.digest(for: other) == nil, "inode")
        other = file
        other.device += 1
        #expect(index.digest(for: other) == nil, "device")
    }

    /// The real kernel: a rewrite in place of the same size with its mtime put back changes
    /// only the ctime; chmod, appending and replacing by rename are misses too.
    @Test func changesToARealFileAreMisses() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? Files.removeTree(dir) }
        let index = TarballIndex(directory: dir + "/index")
        let path = dir + "/t.tar"
        try Files.write(path, "first", create: true)
        let original = try Self.state(path)
        try index.record(Self.settled(original))
        #expect(index.digest(for: original) == Self.digest)

        Self.nextTick()
        try Files.write(path, "other")  // O_TRUNC: same inode, same size
        Self.setModified(path, original.modified)
        let rewritten = try Self.state(path)
        #expect(rewritten.inode == original.inode && rewritten.size == original.size && rewritten.modified == original.modified)
        #expect(rewritten.changed != original.changed)
        #expect(index.digest(for: rewritten) == nil, "only the ctime tells this rewrite apart")

        try index.record(Self.settled(rewritten))
        Self.nextTick()
        chmod(path, 0o600)
        #expect(index.digest(for: try Self.state(path)) == nil, "chmod")

        try index.record(Self.settled(try Self.state(path)))
        try Files.write(path, "other, longer")
        Self.setModified(path, original.modified)
        #expect(index.digest(for: try Self.state(path)) == nil, "size")

        try index.record(Self.settled(try Self.state(path)))
        let before = try Self.state(path)
        try Files.write(dir + "/new.tar", "other, longer", create: true)
        Self.setModified(dir + "/new.tar", before.modified)
        try sys("rename") { rename(dir + "/new.tar", path) }
        let replaced = try Self.state(path)
        #expect(replaced.inode != before.inode && replaced.size == before.size && replaced.modified == before.modified)
        #expect(index.digest(for: replaced) == nil, "replaced by rename: another inode")
    }

    /// A file changed moments before it was hashed could change again within the same tick
    /// of the clock without its timestamps showing it: its entry is kept but not trusted.
    @Test func anEntryHashedTooSoonAfterAChangeIsNotTrusted() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? Files.removeTree(dir) }
        let index = TarballIndex(directory: dir)
        var file = FileState(device: 1, inode: 2, size: 3, modified: Timestamp(seconds: 1_700_000_000, nanoseconds: 5),
                             changed: Timestamp(seconds: 1_700_000_000, nanoseconds: 900_000_000))
        func entry(hashedAfter nanoseconds: Int64) -> TarballIndex.Entry {
            TarballIndex.Entry(file: file, hashed: file.changed.adding(nanoseconds: nanoseconds), digest: Self.digest, path: "/x.tar")
        }
        try index.record(entry(hashedAfter: 0))
        #expect(index.digest(for: file) == nil, "hashed in the same instant as the change")
        try index.record(entry(hashedAfter: 50_000_000))
        #expect(index.digest(for: file) == nil, "within a few ticks")
        try index.record(entry(hashedAfter: 150_000_000))
        #expect(index.digest(for: file) == Self.digest)
        #expect(entry(hashedAfter: 150_000_000).hashed == Timestamp(seconds: 1_700_000_001, nanoseconds: 50_000_000))

        // Whole seconds only: a filesystem that may keep nothing finer (FAT keeps two).
        file.changed = Timestamp(seconds: 1_700_000_000, nanoseconds: 0)
        try index.record(entry(hashedAfter: 2_000_000_000))
        #expect(index.digest(for: file) == nil)
        try index.record(entry(hashedAfter: 3_500_000_000))
        #expect(index.digest(for: file) == Self.digest)
    }

    @Test func unreadableEntriesAreMisses() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? Files.removeTree(dir) }
        let index = TarballIndex(directory: dir)
        let file = FileState(device: 7, inode: 8, size: 9, modified: Timestamp(seconds: 100, nanoseconds: 1),
                             changed: Timestamp(seconds: 100, nanoseconds: 2))
        let good = Self.settled(file).serialized
        let entryPath = dir + "/7-8"
        let corruptions = [
            "", "garbage", String(good.dropLast()), String(good.prefix(good.count / 2)),
            good.replacingFirst("contain rootfs index 1", with: "contain rootfs index 2"),
            good.replacingFirst(Self.digest, with: String(Self.digest.dropLast())),
            good.replacingFirst(Self.digest, with: String(repeating: "AB", count: 32)),
            good.replacingFirst("size 9", with: "size nine"),
            good.replacingFirst("size 9", with: "size -9"),
            good.replacingFirst("ctime 100.000000002", with: "ctime 100.2"),
            good.replacingFirst("mtime 100.000000001", with: "mtime 100.+00000001"),
            good.replacingFirst("hashed ", with: "hashed"),
            good.replacingFirst("path /x.tar", with: "path "),
        ]
        for text in corruptions {
            try Files.write(entryPath, text, create: true)
            #expect(index.digest(for: file) == nil, "\(text)")
        }
        try Files.write(entryPath, good, create: true)
        #expect(index.digest(for: file) == Self.digest, "the uncorrupted entry, for contrast")
        unlink(entryPath)
        try Files.makeDirectory(entryPath)
        #expect(index.digest(for: file) == nil, "a directory where the entry should be")
        let contents = index.contents()
        #expect(contents.count == 1 && contents[0].entry == nil)
    }

    @Test func entriesRoundTripAnyPath() throws {
        let file = FileState(device: 1, inode: 2, size: 3, modified: Timestamp(seconds: -5, nanoseconds: 7),
                             changed: Timestamp(seconds: 1_700_000_000, nanoseconds: 999_999_999))
        let path = "/a dir/with\nnewline and path 1/x.tar"
        let entry = Self.settled(file, path: path)
        let parsed = TarballIndex.Entry(parsing: entry.serialized, device: 1, inode: 2)
        #expect(parsed == entry)
        #expect(parsed?.path == path)
        #expect(entry.serialized.contains("ctime 1700000000.999999999\n"))
        #expect(entry.serialized.contains("mtime -5.000000007\n"))
    }

    @Test func contentsListsEntriesAndLeftovers() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? Files.removeTree(dir) }
        let index = TarballIndex(directory: dir)
        let file = FileState(device: 1, inode: 2, size: 3, modified: Timestamp(seconds: 4, nanoseconds: 5),
                             changed: Timestamp(seconds: 6, nanoseconds: 7))
        try index.record(Self.settled(file))
        try Files.write(dir + "/1-3.tmp.99999999", "half written", create: true)
        let contents = index.contents()
        #expect(contents.map(\.name) == ["1-2", "1-3.tmp.99999999"])
        #expect(contents[0].entry == Self.settled(file))
        #expect(contents[1].entry == nil)
        #expect(RootfsCache.writer(ofTemporary: "1-3.tmp.99999999") == 99_999_999)
        #expect(RootfsCache.writer(ofTemporary: "1-3") == nil)
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        return String(self[..<range.lowerBound]) + replacement + String(self[range.upperBound...])
    }
}
