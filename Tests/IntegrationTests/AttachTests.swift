import Foundation
import Testing

/// `contain attach` as docker users expect it: a detached container's terminal on a real
/// terminal (tmux), Ctrl-P Ctrl-Q detaching and leaving it running, attaching again and exiting
/// with its status; without a tty, stdin fed through the supervisor's pipe and stdout and stderr
/// kept apart, several clients at once; the refusals. Every stage has a time limit (RunResult's
/// timeout, TerminalSession.shows and `eventually`), none a fixed sleep.
@Suite(.enabled(if: Harness.enabled)) struct AttachTests {
    static func contain(_ box: Sandbox, _ arguments: [String], stdin: String? = nil) throws -> RunResult {
        try box.contain(Array(arguments.prefix(1)) + box.commonArguments + Array(arguments.dropFirst()), stdin: stdin, timeout: 30)
    }

    static func detach(_ box: Sandbox, _ name: String, _ options: [String], _ command: [String],
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try contain(box, ["run", "-d", "-q", "--name", name, "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent]
                                 + options + ["--"] + command)
        try #require(r.status == 0, "\(r)", sourceLocation: sourceLocation)
    }

    static func status(_ box: Sandbox, _ name: String) throws -> String {
        try contain(box, ["inspect", "-f", "{{.State.Status}}", name]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `attach NAME` started in the background, its stdin `stdin` (then closed).
    static func attach(_ box: Sandbox, _ options: [String], _ name: String, stdin: String? = nil) throws -> Running {
        try box.start(["attach"] + box.commonArguments + options + [name], stdin: stdin)
    }

    @Test func terminalAttachDetachAndAttachAgain() throws {
        let box = try Sandbox()
        try Self.detach(box, "box", ["-i", "-t"], ["sh"])
        let attach = "\(Harness.binary) attach --root \(box.stateRoot) box"
        // After attach, a shell of the pane's own (ended by `exit` below, by SIGKILL in 2 minutes
        // if the test fails before: the tmux server goes with the pane).
        let terminal = try TerminalSession("\(attach); echo attach-exit=$?; exec timeout -s KILL --foreground 120 sh",
                                           scratch: box.stateRoot)
        try terminal.type("echo hi-$((1+1))")
        #expect(terminal.shows("hi-2"), "\(terminal.screen)")

        // Another client at the same time, output only: once it is in, it sees what the
        // terminal shows (asked again until it is, each time a new answer).
        let watcher = try Self.attach(box, ["--no-stdin"], "box")
        var asked = 0
        #expect(eventually(timeout: 20) {
            asked += 1
            try? terminal.type("echo seen-$((\(asked)*1000))")
            return watcher.waitForOutput("seen-\(asked)000", timeout: 0.5)
        }, "a second client sees the same output: \(watcher.stdoutSoFar)")
        try terminal.type("tty; stty size")
        #expect(terminal.shows("/dev/pts/0"), "the container's own terminal: \(terminal.screen)")
        #expect(terminal.shows("30 100"), "the attaching terminal's size: \(terminal.screen)")

        // Ctrl-P Ctrl-Q: attach leaves as docker's does, the terminal restored, the container runs.
        try terminal.press("C-p")
        try terminal.press("C-q")
        #expect(terminal.shows("read escape sequence"), "\(terminal.screen)")
        #expect(terminal.shows("attach-exit=1"), "docker attach exits 1 on detaching: \(terminal.screen)")
        try terminal.type("echo back-$((2+3))")
        #expect(terminal.shows("back-5"), "the caller's shell works again (cooked mode): \(terminal.screen)")
        #expect(try Self.status(box, "box") == "running")
        let ps = try Self.contain(box, ["ps"])
        #expect(ps.stdout.contains("box") && ps.stdout.contains("running"), "\(ps)")

        // Again: input reaches the same shell, and its exit status is attach's.
        try terminal.type("\(attach); echo attach2-exit=$?")
        try terminal.type("echo again-$((3+4))")
        #expect(terminal.shows("again-7"), "\(terminal.screen)")
        try terminal.type("exit 3")
        #expect(terminal.shows("attach2-exit=3"), "\(terminal.screen)")
        try terminal.type("exit")
        let watched = try watcher.wait(timeout: 30)
        #expect(watched.status == 3, "every client exits with the container's status: \(watched)")
        #expect(watched.stdout.contains("again-7"), "\(watched)")
        #expect(try Self.status(box, "box") == "exited")

        let records = try FileManager.default.contentsOfDirectory(atPath: box.stateRoot + "/containers")
        #expect(records.allSatisfy { !FileManager.default.fileExists(atPath: box.stateRoot + "/containers/\($0)/attach.sock") },
                "the socket goes when the supervisor lets go")
        #expect(try Self.contain(box, ["rm", "box"]).status == 0)
        box.expectClean()
    }

    @Test func stdinWithoutATtyReachesTheContainerFromSeveralClients() throws {
        let box = try Sandbox()
        defer { _ = try? Self.contain(box, ["rm", "-f", "echoer"]) }
        try Self.detach(box, "echoer", ["-i"], ["sh", "-c", "while read l; do echo out:$l; echo err:$l >&2; done"])
        // Its stdin ends here; the container's stays open for the next client (docker's -d -i).
        let first = try Self.attach(box, [], "echoer", stdin: "ping-1\n")
        #expect(first.waitForOutput("out:ping-1"), "\(first.stdoutSoFar)")
        let second = try Self.attach(box, [], "echoer", stdin: "ping-2\n")
        #expect(second.waitForOutput("out:ping-2"), "\(second.stdoutSoFar)")
        #expect(first.waitForOutput("out:ping-2"), "the first client sees what the second sent")
        #expect(try Self.status(box, "echoer") == "running")

        #expect(try Self.contain(box, ["kill", "echoer"]).status == 0)
        for client in [first, second] {
            let r = try client.wait(timeout: 30)
            #expect(r.status == 137, "attach exits with the container's status: \(r)")
            #expect(r.stderr.contains("err:ping-2") && !r.stdout.contains("err:"), "stderr kept apart: \(r)")
        }
        let logs = try Self.contain(box, ["logs", "echoer"])
        #expect(logs.stdout == "out:ping-1\nout:ping-2\n", "the log has it all too: \(logs)")

        // Started again under a new supervisor: a new socket in the same record.
        #expect(try Self.contain(box, ["start", "echoer"]).status == 0)
        let third = try Self.attach(box, [], "echoer", stdin: "ping-3\n")
        #expect(third.waitForOutput("out:ping-3"), "\(third.stdoutSoFar)")
        #expect(try Self.contain(box, ["kill", "echoer"]).status == 0)
        #expect(try third.wait(timeout: 30).status == 137)
        #expect(try Self.contain(box, ["rm", "echoer"]).status == 0)
        box.expectClean()
    }

    /// Without -i the container's stdin is /dev/null: attach shows its output and exits with
    /// its status, and what it is given goes nowhere.
    @Test func outputOnlyWithoutInteractive() throws {
        let box = try Sandbox()
        defer { _ = try? Self.contain(box, ["rm", "-f", "quiet"]) }
        try Self.detach(box, "quiet", [], ["sh", "-c", "while [ ! -e /tmp/go ]; do echo waiting; sleep 0.1; done; cat; echo late; exit 4"])
        let client = try Self.attach(box, [], "quiet", stdin: "never-read\n")
        // It is in once the output reaches it; only then is the container let go.
        #expect(client.waitForOutput("waiting"), "\(client.stdoutSoFar)")
        #expect(try Self.contain(box, ["exec", "quiet", "--", "touch", "/tmp/go"]).status == 0)
        let r = try client.wait(timeout: 30)
        #expect(r.status == 4, "\(r)")
        #expect(r.stdout.hasSuffix("waiting\nlate\n") && !r.stdout.contains("never-read"), "\(r)")
        #expect(try Self.contain(box, ["rm", "quiet"]).status == 0)
        box.expectClean()
    }

    @Test func refusals() throws {
        let box = try Sandbox()
        defer { _ = try? Self.contain(box, ["rm", "-f", "ended", "made", "old", "frozen"]) }
        let missing = try Self.contain(box, ["attach", "nothing-here"])
        #expect(missing.status == 1 && missing.errors == ["[contain] error: no such container: nothing-here"], "\(missing)")

        try Self.detach(box, "ended", [], ["true"])
        #expect(try Self.contain(box, ["wait", "ended"]).stdout == "0\n")
        let ended = try Self.contain(box, ["attach", "ended"])
        #expect(ended.status == 1 && ended.errors == ["[contain] error: cannot attach to a stopped container, start it first"], "\(ended)")

        let created = try Self.contain(box, ["create", "-q", "--name", "made", "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent, "--", "true"])
        #expect(created.status == 0, "\(created)")
        #expect(try Self.contain(box, ["attach", "made"]).status == 1, "a created container is not running yet")

        // A container whose supervisor has no socket (started before attach existed).
        try Self.detach(box, "old", [], ["sleep", "60"])
        let records = try FileManager.default.contentsOfDirectory(atPath: box.stateRoot + "/containers")
        for record in records { unlink(box.stateRoot + "/containers/\(record)/attach.sock") }
        let old = try Self.contain(box, ["attach", "old"])
        #expect(old.status == 1 && old.errors.count == 1 && old.errors[0].contains("has no attach socket"), "\(old)")

        try Self.detach(box, "frozen", [], ["sleep", "60"])
        #expect(try Self.contain(box, ["pause", "frozen"]).status == 0)
        let paused = try Self.contain(box, ["attach", "frozen"])
        #expect(paused.status == 1 && paused.errors == ["[contain] error: cannot attach to a paused container, unpause it first"], "\(paused)")

        let keys = try Self.contain(box, ["attach", "--detach-keys", "ctrl-P", "frozen"])
        #expect(keys.status == 125 && keys.errors.count == 1 && keys.errors[0].contains("unknown key `ctrl-P`"), "\(keys)")

        // A tty container's stdin needs a terminal to attach to, as docker's does.
        try Self.detach(box, "tty", ["-i", "-t"], ["sh"])
        defer { _ = try? Self.contain(box, ["rm", "-f", "tty"]) }
        let notTTY = try Self.contain(box, ["attach", "tty"], stdin: "exit 0\n")
        #expect(notTTY.status == 1 && notTTY.errors == ["[contain] error: the input device is not a TTY"], "\(notTTY)")
        #expect(try Self.status(box, "tty") == "running")

        for name in ["ended", "made", "old", "frozen", "tty"] { _ = try Self.contain(box, ["rm", "-f", name]) }
        box.expectClean()
    }
}
