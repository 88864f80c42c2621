import ContainSystem
import Foundation
import Glibc
import Testing
@testable import ContainRuntime

@Suite struct ContainerRecordTests {
    static func temporaryRoot() throws -> String {
        var template = Array("/tmp/contain-records-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError.last("mkdtemp") }
        return String(cString: made)
    }

    static func info(_ id: String, name: String? = nil, keep: Bool = false) -> ContainerInfo {
        ContainerInfo(id: id, name: name, command: ["sh", "-c", "echo 'a\nb' \\ c"], created: 1_700_000_000,
                      rootfs: "/r", network: "bridge", keep: keep)
    }

    @Test func metadataRoundTrips() {
        var info = Self.info(String(repeating: "a", count: 64), name: "web")
        info.environment = ["PATH=/bin", "MULTI=line\none"]
        info.capabilities = ["CAP_CHOWN", "CAP_KILL"]
        info.seccomp = "/etc/my profile.json"
        info.privileged = true
        #expect(ContainerInfo(parsing: info.serialized) == info)
        let status = ContainerStatus(pid: ProcessIdentity(pid: 42, startTime: 7), address: "10.88.0.2", exitCode: 137, finished: 5)
        #expect(ContainerStatus(parsing: status.serialized) == status)
        #expect(ContainerStatus(parsing: "") == ContainerStatus())
    }

    @Test func aLiveRecordIsRunningAndItsNameIsTaken() throws {
        let root = try Self.temporaryRoot()
        defer { try? Files.removeTree(root) }
        let record = try ContainerRecord.create(stateRoot: root, info: Self.info("aaaa1111", name: "web"), cgroupDirectories: [])
        // Set up but not started: created; once its command runs: running.
        record.writeStatus(ContainerStatus(pid: ProcessIdentity.current()))
        #expect(ContainerRecord.list(stateRoot: root).map(\.state) == [.created])
        record.writeStatus(ContainerStatus(pid: ProcessIdentity.current(), phase: .running))
        #expect(ContainerRecord.list(stateRoot: root).map(\.state) == [.running])
        #expect(try ContainerRecord.find(stateRoot: root, "web").info.id == "aaaa1111")
        #expect(try ContainerRecord.find(stateRoot: root, "aaaa").info.id == "aaaa1111")
        #expect(throws: RunFailure.self) { try ContainerRecord.create(stateRoot: root, info: Self.info("bbbb2222", name: "web"), cgroupDirectories: []) }
        #expect(!Files.exists(root + "/containers/bbbb2222"), "a refused create leaves nothing")
        record.remove()
        #expect(ContainerRecord.list(stateRoot: root).isEmpty)
        // The name is free once its container is gone.
        let again = try ContainerRecord.create(stateRoot: root, info: Self.info("cccc3333", name: "web"), cgroupDirectories: [])
        again.remove()
    }

    @Test func keptRecordsEndAsExitedOthersDisappear() throws {
        let root = try Self.temporaryRoot()
        defer { try? Files.removeTree(root) }
        let kept = try ContainerRecord.create(stateRoot: root, info: Self.info("kept0001", name: "bg", keep: true), cgroupDirectories: [])
        let plain = try ContainerRecord.create(stateRoot: root, info: Self.info("plain001"), cgroupDirectories: [])
        kept.finish(exitCode: 3, status: ContainerStatus())
        plain.finish(exitCode: 0, status: ContainerStatus())
        let views = ContainerRecord.list(stateRoot: root)
        #expect(views.map(\.info.id) == ["kept0001"])
        #expect(views.first?.state == .exited(3))
        // A kept record is not mistaken for one a dead runtime left.
        #expect(ContainerRecord.reclaimAbandoned(stateRoot: root).isEmpty)
        try ContainerRecord.removeEnded(views[0], stateRoot: root)
        #expect(ContainerRecord.list(stateRoot: root).isEmpty)
        #expect((try? Files.list(root + "/names"))?.filter { !$0.hasPrefix(".") } == [])
    }

    /// Eight contenders race for one name through `create` (staging record, then the symlink(2)
    /// claim), each on a thread of its own released at the same instant: symlink(2) is atomic
    /// between threads as between processes. Threads, not fork(): a child of this
    /// multi-threaded process that runs Swift can deadlock on a lock another thread held at the
    /// fork (it hung on a futex for 411 s). Only a create that returned is a winner; every
    /// other contender must have been refused because the name is in use, and every wait here
    /// gives up after a deadline instead of hanging.
    @Test(.timeLimit(.minutes(1))) func concurrentClaimsOfOneNameHaveOneWinner() throws {
        let root = try Self.temporaryRoot()
        defer { try? Files.removeTree(root) }
        let contenders = 8
        let race = NameRace()
        for i in 0..<contenders {
            let thread = Thread {
                race.arriveAndWaitForStart()
                let outcome = Result { try ContainerRecord.create(stateRoot: root, info: Self.info("race\(i)", name: "race"), cgroupDirectories: []) }
                race.finish(outcome)
            }
            thread.start()
        }
        try #require(race.wait(until: { arrived, _ in arrived == contenders }, seconds: 30), "all \(contenders) threads started")
        race.start()
        try #require(race.wait(until: { _, finished in finished == contenders }, seconds: 30), "every claim returned or threw")

        let outcomes = race.outcomes
        let winners = outcomes.compactMap { try? $0.get() }
        defer { winners.forEach { $0.remove() } }
        #expect(winners.count == 1, "winners: \(winners.map(\.info.id))")
        for case .failure(let error) in outcomes {
            #expect("\(error)".contains("the name `race` is already in use"), "a loser failed for another reason: \(error)")
        }
        if let winner = winners.first {
            #expect(try ContainerRecord.find(stateRoot: root, "race").info.id == winner.info.id)
        }
        // The losers left nothing: only the winner's record is there.
        #expect(ContainerRecord.list(stateRoot: root).map(\.info.id) == winners.map(\.info.id))
    }

    @Test func zombiesAndProcessesWithSIGKILLPendingAreDead() {
        #expect(ProcessIdentity.isZombie(stat: "42 (sh (x) y) Z 1 42 42 0 -1"))
        #expect(ProcessIdentity.isZombie(stat: "42 (a) X 1"))
        #expect(!ProcessIdentity.isZombie(stat: "42 (Z) S 1 42"))
        // Field 22 the start time, field 31 the pending signals (256: SIGKILL).
        func stat(state: String, pending: Int) -> String {
            "20048 (a (b) c) \(state) 20045 20045 30995 0 -1 4194304 101 0 0 0 0 0 0 0 20 0 1 0 4461621 3133440 412 "
                + "18446744073709551615 94723630956544 94723630976425 140723141247568 0 0 \(pending) 0 0 0 0 0 0 17 1 0 0 0 0 0"
        }
        #expect(ProcessIdentity.isAlive(stat: stat(state: "S", pending: 0), startTime: 4461621))
        #expect(ProcessIdentity.isAlive(stat: stat(state: "R", pending: 16386), startTime: 4461621), "SIGINT and SIGTERM pending")
        #expect(!ProcessIdentity.isAlive(stat: stat(state: "S", pending: 256), startTime: 4461621), "SIGKILL pending")
        #expect(!ProcessIdentity.isAlive(stat: stat(state: "Z", pending: 0), startTime: 4461621))
        #expect(!ProcessIdentity.isAlive(stat: stat(state: "S", pending: 0), startTime: 4461622), "another start time")
        #expect(!ProcessIdentity.isAlive(stat: "20048 (a) S 1 2", startTime: 4461621), "too short")
        #expect(ProcessIdentity.mask("CapBnd", status: "Name:\tsleep\nCapBnd:\t000001ffffffffff\n") == 0x1ffffffffff)
        #expect(ProcessIdentity.mask("ShdPnd", status: "Name:\tsleep\n") == nil)
        #expect(ProcessIdentity.current().isAlive)
        #expect(!ProcessIdentity(pid: getpid(), startTime: 1).isAlive, "another process that once had this pid")
    }

    @Test func stagingNamesCarryTheirCreator() {
        let owner = ProcessIdentity(pid: 4242, startTime: 77)
        let name = ContainerRecord.stagingName(id: "abc123", owner: owner)
        #expect(ContainerRecord.stagingOwner(name)?.id == "abc123")
        #expect(ContainerRecord.stagingOwner(name)?.owner == owner)
        #expect(ContainerRecord.stagingOwner("abc123") == nil)
        #expect(ContainerRecord.stagingOwner(".new-abc123") == nil)
    }

    /// What a creator killed between its first mkdir and the rename leaves: a staging directory
    /// and a name link. Both go at the next reclaim once the creator is dead; a live creator's
    /// are left alone.
    @Test func aDeadCreatorsStagingAndNameAreReclaimed() throws {
        let root = try Self.temporaryRoot()
        defer { try? Files.removeTree(root) }
        let containers = root + "/containers", names = root + "/names"
        try Files.makeDirectories(containers)
        try Files.makeDirectories(names)
        let dead = ProcessIdentity(pid: getpid(), startTime: 1)
        try Files.makeDirectory(containers + "/" + ContainerRecord.stagingName(id: "dead0001", owner: dead))
        #expect(symlink("dead0001.\(dead.pid).\(dead.startTime)", names + "/gone") == 0)
        #expect(symlink("nosuch01", names + "/dangling") == 0)
        try Files.makeDirectory(containers + "/" + ContainerRecord.stagingName(id: "live0001", owner: .current()))
        let me = ProcessIdentity.current()
        #expect(symlink("live0001.\(me.pid).\(me.startTime)", names + "/busy") == 0)
        ContainerRecord.reclaimAbandoned(stateRoot: root)
        #expect(try Files.list(containers) == [ContainerRecord.stagingName(id: "live0001", owner: .current())])
        #expect(try Files.list(names).filter { !$0.hasPrefix(".") } == ["busy"])
    }

    /// A record no supervisor holds belongs to its init: kept while the init lives, reclaimed
    /// once it is gone.
    @Test func anUnsupervisedRecordLivesAsLongAsItsInit() throws {
        let root = try Self.temporaryRoot()
        defer { try? Files.removeTree(root) }
        let dir = root + "/containers/orphan01"
        try Files.makeDirectories(dir)
        try Files.write(dir + "/config", Self.info("orphan01").serialized, create: true)
        try Files.write(dir + "/lock", "", create: true)
        try Files.write(dir + "/state", ContainerStatus(pid: .current(), phase: .running).serialized, create: true)
        #expect(ContainerRecord.list(stateRoot: root).map(\.state) == [.running])
        #expect(ContainerRecord.reclaimAbandoned(stateRoot: root).isEmpty)
        try Files.write(dir + "/state", ContainerStatus(pid: ProcessIdentity(pid: getpid(), startTime: 1), phase: .running).serialized)
        #expect(ContainerRecord.list(stateRoot: root).map(\.state) == [.dead])
        #expect(ContainerRecord.reclaimAbandoned(stateRoot: root) == ["orphan01"])
        #expect(ContainerRecord.list(stateRoot: root).isEmpty)
    }

    /// The exit status survives a full disk: it is also a symlink, which needs no data block.
    @Test func theExitStatusIsReadFromItsSymlink() throws {
        let root = try Self.temporaryRoot()
        defer { try? Files.removeTree(root) }
        let record = try ContainerRecord.create(stateRoot: root, info: Self.info("exit0001", keep: true), cgroupDirectories: [])
        #expect(record.finish(exitCode: 42, status: ContainerStatus()) == nil)
        #expect(try Files.readLink(record.directory + "/exit") == "42")
        try Files.write(record.directory + "/state", "", create: true)  // as if the state write had failed
        #expect(ContainerRecord.list(stateRoot: root).map(\.state) == [.exited(42)])
    }
}

/// The start line and the results of `concurrentClaimsOfOneNameHaveOneWinner`'s threads.
private final class NameRace: @unchecked Sendable {
    private let condition = NSCondition()
    private var started = false
    private var arrived = 0
    private var results: [Result<ContainerRecord, any Error>] = []

    var outcomes: [Result<ContainerRecord, any Error>] { condition.withLock { results } }

    /// Called by each contender: counts it in, then blocks until `start` (at most a minute).
    func arriveAndWaitForStart() {
        condition.withLock {
            arrived += 1
            condition.broadcast()
            let deadline = Date().addingTimeInterval(60)
            while !started && condition.wait(until: deadline) {}
        }
    }

    func start() { condition.withLock { started = true; condition.broadcast() } }

    func finish(_ outcome: Result<ContainerRecord, any Error>) {
        condition.withLock { results.append(outcome); condition.broadcast() }
    }

    /// Waits until `done` holds, at most `seconds`; false if it never did.
    func wait(until done: (_ arrived: Int, _ finished: Int) -> Bool, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        return condition.withLock {
            while !done(arrived, results.count) {
                if !condition.wait(until: deadline) { return done(arrived, results.count) }
            }
            return true
        }
    }
}
