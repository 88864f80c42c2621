import ContainSystem
import Glibc
import Testing
@testable import ContainRuntime

/// The freezer on fake cgroup trees: a plain file echoes what was written, which is what a
/// v1 freezer.state that froze at once looks like; a v2 cgroup.events is scripted.
@Suite struct FreezerTests {
    static func temporaryDirectory() throws -> String {
        var template = Array("/tmp/contain-freezer-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError.last("mkdtemp") }
        return String(cString: made)
    }

    @Test func findsTheHierarchyThatHasTheFreezer() throws {
        let root = try Self.temporaryDirectory()
        defer { try? Files.removeTree(root) }
        for dir in ["memory", "freezer", "unified"] { try Files.makeDirectory(root + "/" + dir) }
        try Files.write(root + "/freezer/freezer.state", "THAWED\n", create: true)
        try Files.write(root + "/unified/cgroup.freeze", "0\n", create: true)
        #expect(Freezer.find(in: [root + "/memory", root + "/freezer"]) == Freezer(directory: root + "/freezer", version: .v1))
        #expect(Freezer.find(in: [root + "/unified"]) == Freezer(directory: root + "/unified", version: .v2))
        #expect(Freezer.find(in: [root + "/memory", ""]) == nil, "a container made before the freezer hierarchy was joined")
        #expect(Freezer.find(in: []) == nil)
    }

    @Test func v1WritesFrozenAndThawed() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? Files.removeTree(dir) }
        try Files.write(dir + "/freezer.state", "THAWED\n", create: true)
        let freezer = Freezer(directory: dir, version: .v1)
        #expect(!freezer.isFrozen)
        try freezer.freeze(timeout: 5)
        #expect(try Files.read(dir + "/freezer.state") == "FROZEN")
        #expect(freezer.isFrozen)
        try freezer.thaw(timeout: 5)
        #expect(try Files.read(dir + "/freezer.state") == "THAWED")
    }

    @Test func v2WaitsForTheEventsFileAndUndoesAFreezeThatTimesOut() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? Files.removeTree(dir) }
        try Files.write(dir + "/cgroup.freeze", "0\n", create: true)
        try Files.write(dir + "/cgroup.events", "populated 1\nfrozen 1\n", create: true)
        let freezer = Freezer(directory: dir, version: .v2)
        try freezer.freeze(timeout: 5)
        #expect(try Files.read(dir + "/cgroup.freeze") == "1")
        #expect(freezer.isFrozen)

        // The kernel never says frozen: the freeze is undone and reported.
        try Files.write(dir + "/cgroup.events", "populated 1\nfrozen 0\n")
        #expect(throws: FreezerError.timedOut(dir, frozen: true, seconds: 0.05)) { try freezer.freeze(timeout: 0.05) }
        #expect(try Files.read(dir + "/cgroup.freeze") == "0")
        try freezer.thaw(timeout: 5)
    }

    @Test func eventsFileParsing() {
        #expect(Freezer.eventsFrozen("populated 1\nfrozen 1\n") == true)
        #expect(Freezer.eventsFrozen("populated 0\nfrozen 0\n") == false)
        #expect(Freezer.eventsFrozen("populated 1\n") == nil)
    }
}
