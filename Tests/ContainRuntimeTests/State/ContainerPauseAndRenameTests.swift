import ContainSystem
import Glibc
import Testing
@testable import ContainRuntime

/// pause/unpause on a record whose cgroup is a fake v1 freezer directory, and rename's moves
/// of the name link, in a temporary state root.
@Suite struct ContainerPauseAndRenameTests {
    static func temporaryRoot() throws -> String {
        var template = Array("/tmp/contain-pause-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError.last("mkdtemp") }
        return String(cString: made)
    }

    static func info(_ id: String, name: String?) -> ContainerInfo {
        ContainerInfo(id: id, name: name, command: ["sleep", "60"], created: 1_700_000_000, rootfs: "/r", network: "none", keep: true)
    }

    /// A running container (this process as its init) whose freezer is `freezer`.
    static func running(_ root: String, _ id: String, name: String?, freezer: String? = nil) throws -> ContainerRecord {
        let record = try ContainerRecord.create(stateRoot: root, info: info(id, name: name), cgroupDirectories: freezer.map { [$0] } ?? [])
        record.writeStatus(ContainerStatus(pid: ProcessIdentity.current(), phase: .running))
        return record
    }

    static func message(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return "\(error)" }
    }

    @Test func pauseFreezesMarksAndUnpauseUndoes() throws {
        let root = try Self.temporaryRoot()
        defer { try? Files.removeTree(root) }
        let freezer = root + "/freezer-cgroup"
        try Files.makeDirectory(freezer)
        try Files.write(freezer + "/freezer.state", "THAWED\n", create: true)
        let record = try Self.running(root, "aaaa1111", name: "web", freezer: freezer)
        defer { record.remove() }

        try ContainerRecord.pause(try ContainerRecord.find(stateRoot: root, "web"))
        #expect(try Files.read(freezer + "/freezer.state") == "FROZEN")
        let paused = try ContainerRecord.find(stateRoot: root, "web")
        #expect(paused.paused && paused.isRunning && paused.stateDescription == "paused")
        #expect(Self.message { try ContainerRecord.pause(paused) } == "container web is already paused")

        try ContainerRecord.unpause(paused)
        #expect(try Files.read(freezer + "/freezer.state") == "THAWED")
        let running = try ContainerRecord.find(stateRoot: root, "web")
        #expect(!running.paused && running.stateDescription == "running")
        #expect(Self.message { try ContainerRecord.unpause(running) } == "container web is not paused")

        // After a stop signal a paused container is thawed and no longer marked.
        try ContainerRecord.pause(running)
        ContainerRecord.thawAfterSignal(try ContainerRecord.find(stateRoot: root, "web"))
        #expect(try Files.read(freezer + "/freezer.state") == "THAWED")
        #expect(try !ContainerRecord.find(stateRoot: root, "web").paused)
    }

    @Test func onlyARunningContainerWithAFreezerPauses() throws {
        let root = try Self.temporaryRoot()
        defer { try? Files.removeTree(root) }
        let old = try Self.running(root, "bbbb2222", name: "old")
        defer { old.remove() }
        #expect(Self.message { try ContainerRecord.pause(try ContainerRecord.find(stateRoot: root, "old")) }?
            .contains("container old has no freezer cgroup") == true)

        let ended = try ContainerRecord.create(stateRoot: root, info: Self.info("cccc3333", name: "ended"), cgroupDirectories: [])
        _ = ended.finish(exitCode: 0, status: ContainerStatus())
        let view = try ContainerRecord.find(stateRoot: root, "ended")
        #expect(Self.message { try ContainerRecord.pause(view) } == "container ended is not running")
        #expect(Self.message { try ContainerRecord.unpause(view) } == "container ended is not running")
        #expect(throws: RunFailure.self) { try ContainerRecord.find(stateRoot: root, "ghost") }
        #expect(RunFailure.noSuchContainer("ghost").exitCode == 1)
    }

    @Test func renameMovesTheNameLink() throws {
        let root = try Self.temporaryRoot()
        defer { try? Files.removeTree(root) }
        let web = try Self.running(root, "aaaa1111", name: "web")
        defer { web.remove() }
        let db = try Self.running(root, "dddd4444", name: "db")
        defer { db.remove() }
        let before = try Files.readLink(root + "/names/web")

        try ContainerRecord.changeName(of: try ContainerRecord.find(stateRoot: root, "web"), to: "frontend", stateRoot: root)
        #expect(try ContainerRecord.find(stateRoot: root, "frontend").info.id == "aaaa1111")
        #expect(try ContainerRecord.find(stateRoot: root, "aaaa").info.name == "frontend", "the record's name changed")
        #expect(!Files.exists(root + "/names/web"), "the old name is free")
        #expect(try Files.readLink(root + "/names/frontend") == before, "the link still names the record's creator")
        // The old name can be taken again.
        let again = try ContainerRecord.create(stateRoot: root, info: Self.info("eeee5555", name: "web"), cgroupDirectories: [])
        again.remove()

        let view = try ContainerRecord.find(stateRoot: root, "frontend")
        #expect(Self.message { try ContainerRecord.changeName(of: view, to: "db", stateRoot: root) }
            == "name db is already in use by container dddd4444")
        #expect(Self.message { try ContainerRecord.changeName(of: view, to: "-bad", stateRoot: root) }?.hasPrefix("invalid name `-bad`") == true)
        #expect(Self.message { try ContainerRecord.changeName(of: view, to: "frontend", stateRoot: root) } != nil)
        #expect(try ContainerRecord.find(stateRoot: root, "frontend").info.id == "aaaa1111", "a refused rename changes nothing")

        // A link whose container is gone does not hold the name.
        #expect(symlink("ffff6666.1.1", root + "/names/stale") == 0)
        try ContainerRecord.changeName(of: view, to: "stale", stateRoot: root)
        #expect(try ContainerRecord.find(stateRoot: root, "stale").info.id == "aaaa1111")
    }

    @Test func anUnnamedContainerGetsAName() throws {
        let root = try Self.temporaryRoot()
        defer { try? Files.removeTree(root) }
        let record = try Self.running(root, "abab1212", name: nil)
        defer { record.remove() }
        try ContainerRecord.changeName(of: try ContainerRecord.find(stateRoot: root, "abab"), to: "named", stateRoot: root)
        #expect(try ContainerRecord.find(stateRoot: root, "named").info.id == "abab1212")
    }
}
