import CContainShim
import ContainSystem
import Glibc
import Testing
@testable import ContainRuntime

/// `cp`'s path rules, and copies between a host directory and a fake container root (a
/// temporary directory opened as the root): docker's destination rules, and symlinks planted
/// in the root that try to lead a copy out of it.
@Suite struct ContainerCopyTests {
    static func parts(_ path: String) -> [String] {
        let p = CopyPath(path)
        return parts(entry: p.entry, parent: p.parent, base: p.base, slash: p.trailingSlash, contents: p.contentsOnly)
    }

    static func parts(entry: String, parent: String, base: String, slash: Bool, contents: Bool) -> [String] {
        [entry, parent, base, slash ? "must be a directory" : "", contents ? "contents only" : ""]
    }

    @Test func pathSpellings() {
        #expect(Self.parts("/a/b") == Self.parts(entry: "/a/b", parent: "/a", base: "b", slash: false, contents: false))
        #expect(Self.parts("/a/b/") == Self.parts(entry: "/a/b", parent: "/a", base: "b", slash: true, contents: false))
        #expect(Self.parts("/a/b/.") == Self.parts(entry: "/a/b", parent: "/a", base: "b", slash: false, contents: true))
        #expect(Self.parts("/a/b//") == Self.parts(entry: "/a/b", parent: "/a", base: "b", slash: true, contents: false))
        #expect(Self.parts("b") == Self.parts(entry: "b", parent: ".", base: "b", slash: false, contents: false))
        #expect(Self.parts("/b") == Self.parts(entry: "/b", parent: "/", base: "b", slash: false, contents: false))
        #expect(Self.parts("x/y:z") == Self.parts(entry: "x/y:z", parent: "x", base: "y:z", slash: false, contents: false))
        #expect(CopyPath("/").isRoot && CopyPath("/").namesDirectory && CopyPath("/").entry == "/")
        #expect(CopyPath("/.").isRoot && CopyPath("/.").contentsOnly)
        #expect(CopyPath(".").contentsOnly && CopyPath(".").entry == ".")
        #expect(CopyPath("./").contentsOnly && CopyPath("./").entry == ".")
        #expect(CopyPath.followLink("/etc", in: "/tmp") == "/etc")
        #expect(CopyPath.followLink("../etc", in: "/tmp") == "/tmp/../etc")
        #expect(CopyPath.followLink("x", in: "/") == "/x")
    }

    /// A host directory and a fake container root under one temporary directory.
    final class Trees {
        let base: String
        let host: String
        let root: String
        let rootFD: Int32

        init() throws {
            var template = Array("/tmp/contain-cp-XXXXXX".utf8CString)
            guard let made = mkdtemp(&template) else { throw SystemError.last("mkdtemp") }
            base = String(cString: made)
            host = base + "/host"
            root = base + "/root"
            for dir in [host, root, root + "/tmp", root + "/etc"] { try Files.makeDirectory(dir) }
            rootFD = open(root, CSHIM_O_PATH | O_DIRECTORY | O_CLOEXEC)
        }

        deinit {
            close(rootFD)
            try? Files.removeTree(base)
        }

        var container: ContainerCopy.FileTree { .init(rootFD: rootFD, label: "c:") }
        static let hostTree = ContainerCopy.FileTree(rootFD: -1, label: "")

        func toContainer(_ from: String, _ to: String, _ options: ContainerCopy.Options = .init()) throws {
            _ = try ContainerCopy.copy(from: Self.hostTree, from, to: container, to, options: options)
        }

        func fromContainer(_ from: String, _ to: String, _ options: ContainerCopy.Options = .init()) throws {
            _ = try ContainerCopy.copy(from: container, from, to: Self.hostTree, to, options: options)
        }
    }

    static func message(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return "\(error)" }
    }

    @Test func destinationRulesAsDockers() throws {
        let t = try Trees()
        try Files.write(t.host + "/file", "one\n", create: true, mode: 0o640)
        try Files.makeDirectories(t.host + "/dir/sub")
        try Files.write(t.host + "/dir/sub/x", "x\n", create: true)
        #expect(symlink("sub/x", t.host + "/dir/link") == 0)

        try t.toContainer(t.host + "/file", "/tmp/new")                     // missing: created
        #expect(try Files.read(t.root + "/tmp/new") == "one\n")
        var st = stat()
        #expect(stat(t.root + "/tmp/new", &st) == 0 && st.st_mode & 0o777 == 0o640, "the mode is kept")
        try t.toContainer(t.host + "/file", "/tmp")                         // a directory: into it
        #expect(try Files.read(t.root + "/tmp/file") == "one\n")
        try Files.write(t.host + "/file", "two\n")
        try t.toContainer(t.host + "/file", "/tmp/new")                     // a file: replaced
        #expect(try Files.read(t.root + "/tmp/new") == "two\n")
        #expect(Self.message { try t.toContainer(t.host + "/file", "/nope/") } == "destination directory c:/nope/ does not exist")
        #expect(Self.message { try t.toContainer(t.host + "/file", "/nope/x") }?.hasPrefix("no such directory: c:/nope") == true)
        #expect(Self.message { try t.toContainer(t.host + "/file/", "/tmp") } == "not a directory: \(t.host)/file/")

        try t.toContainer(t.host + "/dir", "/srv")                          // missing: made with its contents
        #expect(try Files.read(t.root + "/srv/sub/x") == "x\n")
        #expect(try Files.readLink(t.root + "/srv/link") == "sub/x", "a symlink is copied as one")
        try t.toContainer(t.host + "/dir", "/srv")                          // a directory: into it
        #expect(try Files.read(t.root + "/srv/dir/sub/x") == "x\n")
        try t.toContainer(t.host + "/dir/.", "/etc")                        // contents only
        #expect(try Files.read(t.root + "/etc/sub/x") == "x\n")
        #expect(Self.message { try t.toContainer(t.host + "/dir", "/tmp/new") } == "cannot copy a directory to a file: c:/tmp/new")

        try t.fromContainer("/srv", t.host + "/back")
        #expect(try Files.read(t.host + "/back/sub/x") == "x\n")
        try t.fromContainer("/srv/link", t.host + "/l")
        #expect(try Files.readLink(t.host + "/l") == "sub/x")
        try t.fromContainer("/srv/dir/link", t.host + "/followed", .init(followLink: true))
        #expect(try Files.read(t.host + "/followed") == "x\n", "-L copies what the link leads to")
        #expect(Self.message { try t.fromContainer("/missing", t.host + "/m") } == "no such file or directory: c:/missing")
    }

    /// Symlinks in the root lead every path back inside it, or the copy is refused: nothing
    /// outside the root is written or read.
    @Test func plantedSymlinksCannotLeadOutOfTheRoot() throws {
        let t = try Trees()
        let outside = t.base + "/outside"
        try Files.makeDirectory(outside)
        try Files.write(outside + "/secret", "secret\n", create: true)
        try Files.write(t.host + "/file", "payload\n", create: true)
        #expect(symlink("/", t.root + "/escape") == 0)
        #expect(symlink(outside, t.root + "/tmp/x") == 0)
        #expect(symlink(outside + "/secret", t.root + "/tmp/s") == 0)
        #expect(symlink("../../../../../../../../" + outside, t.root + "/tmp/rel") == 0)
        try Files.makeDirectory(t.root + "/some")

        try t.toContainer(t.host + "/file", "/escape/some/file")
        #expect(try Files.read(t.root + "/some/file") == "payload\n", "/escape is the root itself")
        for dest in ["/tmp/x/file", "/tmp/x", "/tmp/x/", "/tmp/s", "/tmp/rel/file", "/escape" + outside + "/file"] {
            #expect(throws: (any Error).self, "\(dest)") { try t.toContainer(t.host + "/file", dest) }
        }
        #expect(try Files.list(outside) == ["secret"] && Files.read(outside + "/secret") == "secret\n", "nothing outside changed")

        // Once the link's target exists inside the root, the copy lands there.
        try Files.makeDirectories(t.root + outside)
        try t.toContainer(t.host + "/file", "/tmp/s")
        #expect(try Files.read(t.root + outside + "/secret") == "payload\n")
        #expect(try Files.read(outside + "/secret") == "secret\n")

        // Reading: the same paths find nothing outside.
        try Files.removeTree(t.root + t.base)
        for source in ["/tmp/x/secret", "/tmp/rel/secret", "/escape" + outside + "/secret"] {
            #expect(throws: (any Error).self, "\(source)") { try t.fromContainer(source, t.host + "/got") }
        }
        #expect(!Files.exists(t.host + "/got"))
        // A directory of the container that holds links out is copied with the links as links.
        try t.fromContainer("/tmp", t.host + "/tmpcopy", .init(followLink: true))
        #expect(try Files.readLink(t.host + "/tmpcopy/s") == outside + "/secret")
    }

    @Test func hardLinksStayLinkedAndSpecialFilesAreMadeNotRead() throws {
        let t = try Trees()
        try Files.makeDirectory(t.host + "/d")
        try Files.write(t.host + "/d/a", "same\n", create: true)
        #expect(link(t.host + "/d/a", t.host + "/d/b") == 0)
        #expect(mkfifo(t.host + "/d/fifo", 0o640) == 0)
        try t.toContainer(t.host + "/d", "/d")
        var a = stat(), b = stat(), fifo = stat()
        #expect(stat(t.root + "/d/a", &a) == 0 && stat(t.root + "/d/b", &b) == 0)
        #expect(a.st_ino == b.st_ino && a.st_nlink == 2, "one file with two names, as in the source")
        #expect(lstat(t.root + "/d/fifo", &fifo) == 0 && fifo.st_mode & S_IFMT == S_IFIFO && fifo.st_mode & 0o777 == 0o640)
    }

    @Test func aDestinationInsideTheSourceIsNotCopiedAgain() throws {
        let t = try Trees()
        try Files.makeDirectories(t.root + "/d/e")
        try Files.write(t.root + "/d/e/f", "f", create: true)
        // Host → host through two trees on the same directory: /d copied into /d/e.
        let fd = open(t.root, CSHIM_O_PATH | O_DIRECTORY | O_CLOEXEC)
        defer { close(fd) }
        let tree = ContainerCopy.FileTree(rootFD: fd, label: "c:")
        _ = try ContainerCopy.copy(from: tree, "/d", to: tree, "/d/e", options: .init())
        #expect(try Files.read(t.root + "/d/e/d/e/f") == "f")
        #expect(!Files.exists(t.root + "/d/e/d/e/d"))
    }
}
