import ContainSystem
import Glibc
import Testing
@testable import ContainRuntime

/// TarballRootfs.prepare and RootfsCache on a cache in a temporary directory: the index spares
/// the hashing, a changed tarball is unpacked again, concurrent starts share one tree, and
/// pruning keeps what is pinned or used. Unpacking sets owners: root only.
@Suite(.enabled(if: geteuid() == 0, "unpacking sets file owners: needs root"))
struct TarballRootfsTests {
    static func temporaryDirectory() throws -> String {
        var template = Array("/tmp/contain-rootfs-cache-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError.last("mkdtemp") }
        return String(cString: made)
    }

    /// A tar archive holding `marker` with `content`.
    static func archive(_ content: String) -> [UInt8] {
        var bytes = TarHeaderTests.block(name: "marker", size: content.utf8.count)
        bytes += Array(content.utf8)
        bytes += [UInt8](repeating: 0, count: (512 - content.utf8.count % 512) % 512 + 1024)
        return bytes
    }

    static let quiet = Progress(quiet: true)

    static func prepare(_ tarball: String, cache: String) throws -> String {
        try TarballRootfs.prepare(tarball, cache: cache, progress: quiet, display: tarball)
    }

    /// Waits until the tarball's last change is old enough for an index entry to be trusted.
    static func settle() { usleep(150_000) }

    @Test func anUnchangedTarballIsNotHashedAgainAndAChangedOneIsUnpackedAgain() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? Files.removeTree(dir) }
        let cache = dir + "/cache"
        let tarball = dir + "/t.tar"
        try Files.write(tarball, bytes: Self.archive("first\n"))
        Self.settle()
        let first = try Self.prepare(tarball, cache: cache)
        #expect(try Files.read(first + "/marker") == "first\n")
        let file = try #require(TarballIndex.FileState.of(path: tarball))
        let index = TarballIndex(directory: cache + "/index")
        let entry = try Files.read(cache + "/index/\(file.device)-\(file.inode)")
        #expect(index.digest(for: file) == String(first.split(separator: "/").last!))

        // A hit leaves the entry as it was (only its mtime, the last use, moves).
        let second = try Self.prepare(tarball, cache: cache)
        #expect(second == first)
        #expect(try Files.read(cache + "/index/\(file.device)-\(file.inode)") == entry)

        // The same size, the mtime put back: only the ctime changed.
        usleep(30_000)
        try Files.write(tarball, bytes: Self.archive("other\n"))
        var times = [file.modified, file.modified].map { timespec(tv_sec: Int($0.seconds), tv_nsec: Int($0.nanoseconds)) }
        utimensat(AT_FDCWD, tarball, &times, 0)
        let third = try Self.prepare(tarball, cache: cache)
        #expect(third != first)
        #expect(try Files.read(third + "/marker") == "other\n")
        #expect(try Files.read(first + "/marker") == "first\n", "the old tree is left as it was")

        // Replaced by rename, at once after the last start: never the stale digest.
        try Files.write(dir + "/new.tar", bytes: Self.archive("third\n"))
        try sys("rename") { rename(dir + "/new.tar", tarball) }
        let fourth = try Self.prepare(tarball, cache: cache)
        #expect(try Files.read(fourth + "/marker") == "third\n")
        usleep(30_000)
        try Files.write(tarball, bytes: Self.archive("forth\n"))
        #expect(try Files.read(try Self.prepare(tarball, cache: cache) + "/marker") == "forth\n", "rewritten moments after it was hashed")
    }

    @Test func concurrentStartsShareOneTree() async throws {
        let dir = try Self.temporaryDirectory()
        defer { try? Files.removeTree(dir) }
        let cache = dir + "/cache"
        let tarball = dir + "/t.tar"
        var bytes = Self.archive("shared\n")
        // Enough entries that the two unpackings overlap.
        for i in 0..<400 {
            bytes.insert(contentsOf: TarHeaderTests.block(name: "d\(i)/", type: "5"), at: 0)
        }
        try Files.write(tarball, bytes: bytes)
        let trees = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<4 { group.addTask { try Self.prepare(tarball, cache: cache) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(trees).count == 1)
        #expect(try Files.read(trees[0] + "/marker") == "shared\n")
        #expect(try Files.list(trees[0]).count == 401)
        let left = try Files.list(cache).filter { $0.hasPrefix(".") }
        #expect(left.isEmpty, "stagings left behind: \(left)")
    }

    @Test func pruneKeepsWhatIsPinnedOrUsedAndRemovesTheRest() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? Files.removeTree(dir) }
        let cache = dir + "/cache"
        let stateRoot = dir + "/state"
        let tarball = dir + "/t.tar"
        try Files.write(tarball, bytes: Self.archive("pinned\n"))
        let pinned = try Self.prepare(tarball, cache: cache)  // this process holds it from now on

        // Trees nobody pins: one a tarball still holds (never indexed here: dangling), one
        // indexed from a tarball that is still there.
        let loose = cache + "/" + String(repeating: "1", count: 64)
        try Files.makeDirectory(loose)
        try Files.write(loose + "/file", "x", create: true)
        let kept = dir + "/kept.tar"
        try Files.write(kept, "not really a tar", create: true)
        let keptTree = cache + "/" + String(repeating: "2", count: 64)
        try Files.makeDirectory(keptTree)
        let keptFile = try #require(TarballIndex.FileState.of(path: kept))
        try TarballIndex(directory: cache + "/index").record(TarballIndex.Entry(
            file: keptFile, hashed: keptFile.changed.adding(nanoseconds: 5_000_000_000), digest: String(repeating: "2", count: 64), path: kept))
        // Leftovers of a contain that died: a staging and a removal nobody holds.
        try Files.makeDirectory(cache + "/.new-dead")
        try Files.makeDirectory(cache + "/.old-dead")
        try Files.write(cache + "/index/1-2.tmp.99999999", "half", create: true)
        try Files.write(cache + "/index/junk", "junk", create: true)

        let cacheView = RootfsCache(directory: cache)
        let listed = cacheView.list(stateRoot: stateRoot)
        #expect(Set(listed.map(\.path)) == [pinned, loose, keptTree])
        #expect(listed.first { $0.path == keptTree }?.sources == [RootfsCache.Source(path: kept, current: true)])
        #expect(listed.first { $0.path == pinned }?.sources == [RootfsCache.Source(path: tarball, current: true)])
        #expect(listed.first { $0.path == loose }.map { $0.sources.isEmpty && $0.isDangling } == true)
        #expect(listed.allSatisfy { $0.size > 0 })

        let dangling = cacheView.prune(all: false, stateRoot: stateRoot)
        #expect(dangling.failures == [])
        #expect(dangling.removed.map(\.path) == [loose])
        #expect(dangling.reclaimed > 0)
        #expect(!Files.exists(loose) && Files.isDirectory(pinned) && Files.isDirectory(keptTree))
        #expect(try Files.list(cache).filter { $0.hasPrefix(".") }.isEmpty)
        #expect(try Files.list(cache + "/index").sorted() == ["\(keptFile.device)-\(keptFile.inode)", try indexName(tarball)].sorted())

        let everything = cacheView.prune(all: true, stateRoot: stateRoot)
        #expect(everything.removed.map(\.path) == [keptTree], "the pinned tree stays")
        #expect(Files.isDirectory(pinned) && !Files.exists(keptTree))
        #expect(Files.exists(cache + "/index/\(keptFile.device)-\(keptFile.inode)"), "still right about its tarball: kept")
    }

    func indexName(_ path: String) throws -> String {
        let file = try #require(TarballIndex.FileState.of(path: path))
        return "\(file.device)-\(file.inode)"
    }

    @Test func aPrunedTreeIsUnpackedAgainWithoutHashing() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? Files.removeTree(dir) }
        let cache = dir + "/cache"
        let tarball = dir + "/t.tar"
        try Files.write(tarball, bytes: Self.archive("again\n"))
        Self.settle()
        let tree = try Self.prepare(tarball, cache: cache)
        let entry = cache + "/index/" + (try indexName(tarball))
        let recorded = try Files.read(entry)
        // Removed as prune removes it (it cannot lock a tree this process pins).
        try sys("rename") { rename(tree, cache + "/.old-x") }
        try Files.removeTree(cache + "/.old-x")
        #expect(try Self.prepare(tarball, cache: cache) == tree)
        #expect(try Files.read(tree + "/marker") == "again\n")
        #expect(try Files.read(entry) == recorded, "the digest came from the index: the entry was not written again")
    }
}
