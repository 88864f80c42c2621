import Foundation
import Testing

/// `--rootfs FILE.tar`: an unchanged tarball is not hashed again (a cache hit is at least ten
/// times faster than the first start, for 100 MB), a changed one is always unpacked again, and
/// `contain rootfs ls|prune` show and remove the unpacked trees, never one a container uses.
/// Every tarball is made under the sandbox's state root, which goes with the sandbox.
@Suite(.enabled(if: Harness.enabled), .timeLimit(.minutes(10))) struct RootfsCacheTests {
    /// `contain --root <sandbox> ARGS`.
    static func contain(_ box: Sandbox, _ arguments: [String], timeout: Double = 60) throws -> RunResult {
        try box.contain(box.commonArguments + arguments, timeout: timeout)
    }

    static func run(_ box: Sandbox, _ tarball: String, _ options: [String] = [], _ command: [String],
                    timeout: Double = 60) throws -> RunResult {
        try contain(box, ["run", "--rootfs", tarball, "--cgroup-parent", box.cgroupParent] + options + ["--"] + command, timeout: timeout)
    }

    /// The test rootfs plus `/marker` (and whatever else is in `extra`), as an uncompressed tar.
    static func makeTarball(_ box: Sandbox, _ path: String, marker: String, extra: [String] = [],
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        let scratch = box.stateRoot + "/scratch-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try Data(marker.utf8).write(to: URL(fileURLWithPath: scratch + "/marker"))
        let tar = try runTool("/usr/bin/timeout", ["120", "/usr/bin/tar", "-cf", path, "-C", Harness.rootfs, ".", "-C", scratch, "marker"] + extra,
                              output: box.stateRoot + "/tar.log")
        try #require(tar.status == 0, "tar: \(tar.output)", sourceLocation: sourceLocation)
    }

    static func size(_ path: String) -> Int {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : -1
    }

    /// Replaces the file's bytes in place (the same inode), then puts its mtime back: only its
    /// ctime can tell.
    static func rewriteInPlace(_ path: String, with source: String) throws {
        var before = stat()
        try #require(stat(path, &before) == 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
        let fd = open(path, O_WRONLY | O_TRUNC)
        try #require(fd >= 0)
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        try #require(written == bytes.count)
        var times = [before.st_mtim, before.st_mtim]
        try #require(futimens(fd, &times) == 0)
    }

    /// A tarball written moments ago is hashed again at its next start (its timestamps could
    /// not yet tell a second change apart): wait until it is older than that.
    static func settle(_ path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return }
        let settled = Double(st.st_ctim.tv_sec) + Double(st.st_ctim.tv_nsec) / 1e9 + 3.5
        let wait = settled - Date().timeIntervalSince1970
        if wait > 0 { usleep(useconds_t(wait * 1e6)) }
    }

    static func timed(_ body: () throws -> RunResult) rethrows -> (RunResult, Double) {
        let start = Date()
        let result = try body()
        return (result, Date().timeIntervalSince(start))
    }

    static func ls(_ box: Sandbox, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
        let r = try contain(box, ["rootfs", "ls", "--json"])
        try #require(r.status == 0, "\(r)", sourceLocation: sourceLocation)
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]], "\(r)",
                            sourceLocation: sourceLocation)
    }

    /// The short digest (12 hex digits) of the tree a start used, from its progress line.
    static func digestPrefix(_ r: RunResult) -> String? {
        let line = r.progress.first { $0.hasPrefix("[contain] unpacking rootfs: ") || $0.hasPrefix("[contain] rootfs from cache: ") }
        return line.flatMap { $0.split(separator: " ").last }.map { String($0.filter(\.isHexDigit)) }
    }

    @Test func aCacheHitIsAtLeastTenTimesFasterThanTheFirstStart() throws {
        let box = try Sandbox()
        let tarball = box.stateRoot + "/big.tar"
        let data = box.stateRoot + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
        FileManager.default.createFile(atPath: data + "/random.bin", contents: nil)
        let out = try #require(FileHandle(forWritingAtPath: data + "/random.bin"))
        for _ in 0..<100 { out.write(random.readData(ofLength: 1 << 20)) }
        try out.close()
        try Self.makeTarball(box, tarball, marker: "big\n", extra: ["-C", data, "random.bin"])
        try FileManager.default.removeItem(atPath: data)
        #expect(Self.size(tarball) > 100 << 20)
        Self.settle(tarball)

        let (first, cold) = try Self.timed { try Self.run(box, tarball, [], ["true"], timeout: 300) }
        try #require(first.status == 0, "\(first)")
        #expect(first.progress.contains { $0.hasPrefix("[contain] unpacking rootfs: ") }, "\(first)")
        var hits: [Double] = []
        for _ in 0..<3 {
            let (again, time) = try Self.timed { try Self.run(box, tarball, [], ["true"]) }
            #expect(again.status == 0, "\(again)")
            #expect(again.progress.contains { $0.hasPrefix("[contain] rootfs from cache: ") }, "\(again)")
            hits.append(time)
        }
        let fastest = hits.min()!
        #expect(cold >= 10 * fastest, "first start \(cold)s, cache hits \(hits)s")
        print("[rootfs cache] 100 MB tarball: first start \(String(format: "%.3f", cold)) s, cache hit \(String(format: "%.3f", fastest)) s")
        box.expectClean()
    }

    @Test func aChangedTarballIsNeverTakenForTheOldOne() throws {
        let box = try Sandbox()
        let tarball = box.stateRoot + "/t.tar"
        try Self.makeTarball(box, tarball, marker: "first\n")
        Self.settle(tarball)
        let first = try Self.run(box, tarball, ["-q"], ["cat", "/marker"])
        #expect(first.status == 0 && first.stdout == "first\n", "\(first)")
        let hit = try Self.run(box, tarball, [], ["cat", "/marker"])
        #expect(hit.stdout == "first\n" && hit.progress.contains { $0.hasPrefix("[contain] rootfs from cache: ") }, "\(hit)")

        // Rewritten in place to the same size, the mtime put back, moments after the last start.
        let other = box.stateRoot + "/other.tar"
        try Self.makeTarball(box, other, marker: "other\n")
        #expect(Self.size(other) == Self.size(tarball))
        try Self.rewriteInPlace(tarball, with: other)
        let rewritten = try Self.run(box, tarball, [], ["cat", "/marker"])
        #expect(rewritten.stdout == "other\n", "\(rewritten)")
        #expect(rewritten.progress.contains { $0.hasPrefix("[contain] unpacking rootfs: ") }, "\(rewritten)")

        // Replaced by rename, with the same size and mtime.
        try Self.makeTarball(box, other, marker: "third\n")
        var st = stat()
        try #require(stat(tarball, &st) == 0)
        var times = [st.st_mtim, st.st_mtim]
        try #require(utimensat(AT_FDCWD, other, &times, 0) == 0)
        try #require(rename(other, tarball) == 0)
        let replaced = try Self.run(box, tarball, ["-q"], ["cat", "/marker"])
        #expect(replaced.stdout == "third\n", "\(replaced)")

        // Each version is a tree of its own; only the last is what the tarball holds now.
        let trees = try Self.ls(box)
        #expect(trees.count == 3, "\(trees)")
        let current = trees.filter { tree in
            (tree["Sources"] as? [[String: Any]] ?? []).contains { $0["Path"] as? String == tarball && $0["Current"] as? Bool == true }
        }
        #expect(current.count == 1, "\(trees)")
        box.expectClean()
    }

    @Test func lsAndPruneNeverRemoveATreeInUse() throws {
        let box = try Sandbox()
        let used = box.stateRoot + "/used.tar"
        let gone = box.stateRoot + "/gone.tar"
        let kept = box.stateRoot + "/kept.tar"
        try Self.makeTarball(box, used, marker: "used\n")
        try Self.makeTarball(box, gone, marker: "gone\n")
        try Self.makeTarball(box, kept, marker: "kept\n")

        let detached = try Self.run(box, used, ["-d", "-q"], ["sleep", "120"])
        try #require(detached.status == 0, "\(detached)")
        let id = detached.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? Self.contain(box, ["rm", "-f", id]) }
        let goneRun = try Self.run(box, gone, [], ["true"])
        let keptRun = try Self.run(box, kept, [], ["true"])
        #expect(goneRun.status == 0 && keptRun.status == 0, "\(goneRun)\n\(keptRun)")
        let goneDigest = try #require(Self.digestPrefix(goneRun))
        let keptDigest = try #require(Self.digestPrefix(keptRun))

        let trees = try Self.ls(box)
        #expect(trees.count == 3, "\(trees)")
        let usedTree = try #require(trees.first { ($0["Containers"] as? [String]) == [id] }, "\(trees)")
        #expect((usedTree["Sources"] as? [[String: Any]])?.first?["Path"] as? String == used, "\(usedTree)")
        #expect((usedTree["Size"] as? Int ?? 0) > 0)
        let table = try Self.contain(box, ["rootfs", "ls"])
        #expect(table.status == 0 && table.stdout.hasPrefix("DIGEST "), "\(table)")
        #expect(table.stdout.contains(goneDigest) && table.stdout.contains(gone), "\(table)")

        let unconfirmed = try Self.contain(box, ["rootfs", "prune"])
        #expect(unconfirmed.status == 125 && unconfirmed.errors.first?.contains("prune -f") == true, "\(unconfirmed)")
        #expect(try Self.ls(box).count == 3)

        // Every tarball is still there: nothing is dangling.
        let nothing = try Self.contain(box, ["rootfs", "prune", "-f"])
        #expect(nothing.status == 0 && nothing.stdout == "Total reclaimed space: 0B\n", "\(nothing)")

        try FileManager.default.removeItem(atPath: gone)
        let dangling = try Self.contain(box, ["rootfs", "prune", "-f"])
        #expect(dangling.status == 0, "\(dangling)")
        #expect(dangling.stdout.hasPrefix("Deleted Rootfs Trees:\ndeleted: sha256:" + goneDigest), "\(dangling)")
        #expect(dangling.stdout.contains("Total reclaimed space: ") && !dangling.stdout.contains("space: 0B"), "\(dangling)")
        #expect(try Self.ls(box).count == 2)

        let all = try Self.contain(box, ["rootfs", "prune", "-f", "--all"])
        #expect(all.status == 0 && all.stdout.contains("deleted: sha256:" + keptDigest), "\(all)")
        let left = try Self.ls(box)
        #expect(left.count == 1 && (left.first?["Containers"] as? [String]) == [id], "the tree in use stays: \(left)")
        let inside = try Self.contain(box, ["exec", id, "--", "cat", "/marker"])
        #expect(inside.stdout == "used\n", "\(inside)")

        let removed = try Self.contain(box, ["rm", "-f", id])
        #expect(removed.status == 0, "\(removed)")
        // Its supervisor may still be on its way out, holding the tree pinned for a moment.
        var last: RunResult?
        #expect(eventually(timeout: 10) {
            last = try? Self.contain(box, ["rootfs", "prune", "-f", "--all"])
            return last?.status == 0 && (try? Self.ls(box).isEmpty) == true
        }, "\(String(describing: last))")
        let cache = try FileManager.default.contentsOfDirectory(atPath: box.stateRoot + "/rootfs")
        #expect(cache.filter { $0.hasPrefix(".") }.isEmpty, "\(cache)")
        box.expectClean()
    }
}
