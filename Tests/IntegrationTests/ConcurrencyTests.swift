import Foundation
import Testing

/// Several real `contain` processes at once against one state root: what the on-disk records
/// and the symlink(2) name claims promise between processes, not only between threads.
@Suite(.enabled(if: Harness.enabled), .timeLimit(.minutes(10)))
struct ConcurrencyTests {
    static let contenders = 8

    func ps(_ box: Sandbox, all: Bool = true) throws -> [[String: Any]] {
        let r = try box.contain(["ps", "--json"] + (all ? ["-a"] : []) + box.commonArguments)
        try #require(r.status == 0, "\(r)")
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
    }

    /// Starts `contain arguments` `contenders` times, released at the same instant: each waits in
    /// `flock -s` on a gate this test holds locked until all of them are queued on it, so
    /// the runtimes reach their name claims together rather than a process start apart.
    func startTogether(_ box: Sandbox, _ arguments: [String]) throws -> [Running] {
        let gate = box.stateRoot + "/start-gate"
        let fd = open(gate, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        try #require(fd >= 0, "open \(gate): errno \(errno)")
        defer { close(fd) }
        try #require(flock(fd, LOCK_EX) == 0)
        var st = stat()
        fstat(fd, &st)
        let started = try (0..<Self.contenders).map { _ in
            try Running(arguments: ["--shared", gate, Harness.binary] + arguments, stdin: nil, executable: "/usr/bin/flock")
        }
        // Blocked requests show in /proc/locks as `N: -> FLOCK ADVISORY READ PID MAJ:MIN:INODE ...`.
        let queued = eventually(timeout: 10) {
            let locks = (try? String(contentsOfFile: "/proc/locks", encoding: .utf8)) ?? ""
            return locks.split(separator: "\n").filter { $0.contains("->") && $0.contains(":\(st.st_ino) ") }.count >= Self.contenders
        }
        if !queued { print("[ConcurrencyTests] not every contender queued at the gate; releasing anyway") }
        flock(fd, LOCK_UN)
        return started
    }

    /// Removes every container of the sandbox by id (not by name: a second winner would be
    /// missed), so a failure here leaves no sleeping container behind.
    func removeAll(_ box: Sandbox) {
        let ids = ((try? ps(box)) ?? []).compactMap { $0["id"] as? String }
        if !ids.isEmpty { _ = try? box.contain(["rm", "-f"] + box.commonArguments + ids) }
    }

    /// Eight `contain run -d --name race` started together: exactly one container gets the name,
    /// the other seven are refused with 125 and leave nothing behind.
    @Test func detachedRunsRacingForOneNameHaveOneWinner() throws {
        let box = try Sandbox()
        defer { removeAll(box) }
        let arguments = ["run", "-d", "-q", "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent]
            + box.commonArguments + ["--name", "race", "--", "sleep", "120"]
        let started = try startTogether(box, arguments)
        let results = try started.map { try $0.wait(timeout: 60) }

        let winners = results.filter { $0.status == 0 }
        #expect(winners.count == 1, "\(results.map(\.description).joined(separator: "\n"))")
        for loser in results where loser.status != 0 {
            #expect(loser.status == 125, "\(loser)")
            #expect(loser.errors.first?.contains("the name `race` is already in use") == true, "\(loser)")
        }
        let listed = try ps(box)
        #expect(listed.count == 1, "one container, the winner's: \(listed)")
        if let winner = winners.first, winners.count == 1 {
            let id = winner.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(listed.first?["id"] as? String == id, "\(listed)")
            #expect(listed.first?["name"] as? String == "race", "\(listed)")
            #expect(listed.first?["status"] as? String == "running", "\(listed)")
        }

        let rm = try box.contain(["rm", "-f"] + box.commonArguments + ["race"])
        #expect(rm.status == 0, "\(rm)")
        #expect(eventually(timeout: 30) { (try? ps(box))?.isEmpty == true }, "rm -f removes the winner")
        #expect(eventually(timeout: 30) { box.containerPids().isEmpty && box.cgroupChildren().isEmpty },
                "processes or cgroups left: \(box.containerPids()) \(box.cgroupChildren())")
        expectNoNames(box)
        box.expectClean()
    }

    /// The same race in the foreground: the winner runs its command, the losers end with 125
    /// while it does.
    @Test func foregroundRunsRacingForOneNameHaveOneWinner() throws {
        let box = try Sandbox()
        defer { removeAll(box) }
        let arguments = ["run", "-q", "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent]
            + box.commonArguments + ["--name", "race", "--", "sh", "-c", "echo won; exec sleep 120"]
        let started = try startTogether(box, arguments)
        // The losers end on their own; the winner runs until it is killed below. A second
        // running container (a second winner) ends the wait early.
        _ = eventually(timeout: 60) {
            started.filter { $0.process.isRunning }.count <= 1 || ((try? ps(box, all: false))?.count ?? 0) > 1
        }
        let running = started.filter { $0.process.isRunning }
        #expect(running.count == 1, "one winner runs, \(running.count) still running: \((try? ps(box, all: false)) ?? [])")
        for loser in started where !loser.process.isRunning {
            let r = try loser.wait(timeout: 10)
            #expect(r.status == 125, "\(r)")
            #expect(r.errors.first?.contains("the name `race` is already in use") == true, "\(r)")
        }
        for winner in running {
            #expect(winner.waitForOutput("won\n", timeout: 30), "the winner runs its command: \(winner.stdoutSoFar)")
        }
        let listed = try ps(box, all: false)
        #expect(listed.count == running.count, "\(listed)")
        #expect(listed.allSatisfy { $0["name"] as? String == "race" }, "\(listed)")

        // By id, so that a second winner would be killed too.
        let kill = try box.contain(["kill", "-s", "KILL"] + box.commonArguments + listed.compactMap { $0["id"] as? String })
        #expect(kill.status == 0, "\(kill)")
        for winner in running {
            let r = try winner.wait(timeout: 30)
            #expect(r.status == 137, "\(r)")
        }
        #expect(eventually(timeout: 30) { box.containerPids().isEmpty && box.cgroupChildren().isEmpty },
                "processes or cgroups left: \(box.containerPids()) \(box.cgroupChildren())")
        #expect(eventually(timeout: 30) { (try? ps(box))?.isEmpty == true }, "a foreground run removes its record")
        expectNoNames(box)
        box.expectClean()
    }

    /// No name link is left in the state root once its containers are gone.
    func expectNoNames(_ box: Sandbox, sourceLocation: SourceLocation = #_sourceLocation) {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: box.stateRoot + "/names")) ?? []).filter { !$0.hasPrefix(".") }
        #expect(names == [], "name links left behind", sourceLocation: sourceLocation)
    }
}
