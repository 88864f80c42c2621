import Foundation
import Testing

/// `contain logs` as docker users expect it: a detached container's stdout and stderr kept
/// apart, with times; `--tail`, `-t`, `--since`, `--until`, `-f`; everything drained when the
/// container ends; rotation by `--log-opt`; a container whose supervisor is killed is not
/// killed by its own output. Every stage has a time limit (RunResult's timeout).
@Suite(.enabled(if: Harness.enabled)) struct LogsTests {
    typealias Contain = ([String]) throws -> RunResult

    static func contain(_ box: Sandbox) -> Contain { { try box.contain(box.commonArguments + $0, timeout: 30) } }

    /// `contain run -d -q ... -- command` under `name`; returns the id.
    static func detach(_ box: Sandbox, _ name: String, _ options: [String] = [], _ command: [String],
                       sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let r = try contain(box)(["run", "-d", "-q", "--name", name, "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent]
                                 + options + ["--"] + command)
        try #require(r.status == 0, "\(r)", sourceLocation: sourceLocation)
        let id = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(id.count == 64, "run -d prints the id: \(r)", sourceLocation: sourceLocation)
        return id
    }

    /// `contain wait NAME`: blocks until the container has ended (and its log is complete).
    static func waitForEnd(_ contain: Contain, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let r = try contain(["wait", name])
        try #require(r.status == 0, "\(r)", sourceLocation: sourceLocation)
        return r.stdout
    }

    @Test func stdoutAndStderrStayApartWithTailAndTimestamps() throws {
        let box = try Sandbox()
        let contain = Self.contain(box)
        defer { _ = try? contain(["rm", "-f", "talker"]) }
        _ = try Self.detach(box, "talker", [], ["sh", "-c", "echo out1; echo err1 >&2; sleep 1; printf 'out2\\n\"quoted\" \\\\ \\001\\n'"])
        #expect(try Self.waitForEnd(contain, "talker") == "0\n")

        let all = try contain(["logs", "talker"])
        #expect(all.status == 0, "\(all)")
        #expect(all.stdout == "out1\nout2\n\"quoted\" \\ \u{1}\n", "stdout records on stdout: \(all)")
        #expect(all.stderr == "err1\n", "stderr records on stderr: \(all)")

        let last = try contain(["logs", "--tail", "1", "talker"])
        #expect(last.stdout == "\"quoted\" \\ \u{1}\n" && last.stderr == "", "\(last)")
        let three = try contain(["logs", "-n", "3", "talker"])
        #expect(three.stdout == "out2\n\"quoted\" \\ \u{1}\n" && three.stderr == "err1\n", "\(three)")
        #expect(try contain(["logs", "--tail", "0", "talker"]).stdout == "")
        #expect(try contain(["logs", "--tail", "all", "talker"]).stdout == all.stdout)

        let stamped = try contain(["logs", "-t", "talker"])
        let lines = stamped.stdout.split(separator: "\n").map(String.init) + stamped.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(stamped)")
        let pattern = try NSRegularExpression(pattern: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (out1|out2|err1|"quoted".*)$"#)
        for line in lines {
            #expect(pattern.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) != nil, "timestamped: \(line)")
        }

        // --since and --until: RFC 3339, durations, Unix seconds.
        #expect(try contain(["logs", "--since", "1h", "talker"]).stdout == all.stdout)
        #expect(try contain(["logs", "--since", "2099-01-01T00:00:00Z", "talker"]).stdout == "")
        #expect(try contain(["logs", "--until", "1h", "talker"]).stdout == "")
        #expect(try contain(["logs", "--since", "\(Int(Date().timeIntervalSince1970) - 3600)", "talker"]).stdout == all.stdout)
        let firstStamp = String(lines[0].prefix(while: { $0 != " " }))
        #expect(try contain(["logs", "--until", firstStamp, "talker"]).stdout == "out1\n", "until is inclusive")
        let bad = try contain(["logs", "--since", "yesterday", "talker"])
        #expect(bad.status == 125 && bad.errors.count == 1, "\(bad)")
        let badTail = try contain(["logs", "--tail", "many", "talker"])
        #expect(badTail.status == 125 && badTail.errors.count == 1, "\(badTail)")

        #expect(try contain(["rm", "talker"]).status == 0)
        box.expectClean()
    }

    /// With `-t` the terminal is one stream: everything on stdout (with the terminal's \r\n).
    @Test func aTerminalIsOneStream() throws {
        let box = try Sandbox()
        let contain = Self.contain(box)
        defer { _ = try? contain(["rm", "-f", "tty"]) }
        _ = try Self.detach(box, "tty", ["-t"], ["sh", "-c", "echo tout; echo terr >&2"])
        #expect(try Self.waitForEnd(contain, "tty") == "0\n")
        let logs = try contain(["logs", "tty"])
        #expect(logs.stdout.contains("tout\r\n") && logs.stdout.contains("terr\r\n") && logs.stderr == "", "\(logs)")
        #expect(try contain(["rm", "tty"]).status == 0)
        box.expectClean()
    }

    /// Everything the container wrote is in the log once it has ended, however fast it wrote
    /// and however soon it ended; a last line without a newline too.
    @Test func everythingIsDrainedBeforeTheEnd() throws {
        let box = try Sandbox()
        let contain = Self.contain(box)
        defer { _ = try? contain(["rm", "-f", "burst"]) }
        _ = try Self.detach(box, "burst", [], ["sh", "-c", "seq 1 30000; printf tail >&2"])
        #expect(try Self.waitForEnd(contain, "burst") == "0\n")
        let logs = try contain(["logs", "burst"])
        #expect(logs.stdout == (1...30000).map { "\($0)\n" }.joined(), "every line, in order (\(logs.stdout.count) bytes)")
        #expect(logs.stderr == "tail")
        #expect(try contain(["rm", "burst"]).status == 0)
        box.expectClean()
    }

    /// `logs -f` prints what there is, then what comes, and returns once the container has ended.
    @Test func followReturnsWhenTheContainerEnds() throws {
        let box = try Sandbox()
        let contain = Self.contain(box)
        defer { _ = try? contain(["rm", "-f", "slow"]) }
        _ = try Self.detach(box, "slow", [], ["sh", "-c", "echo first; sleep 2; echo second; echo gone >&2"])
        let started = Date()
        let followed = try contain(["logs", "-f", "--tail", "5", "slow"])
        #expect(followed.status == 0, "\(followed)")
        #expect(followed.stdout == "first\nsecond\n" && followed.stderr == "gone\n", "\(followed)")
        #expect(Date().timeIntervalSince(started) < 20 * Harness.timeScale)
        #expect(try contain(["rm", "slow"]).status == 0)
        box.expectClean()
    }

    /// A container whose supervisor is killed with -9 keeps running, even writing far more than
    /// a pipe holds: its output has no reader any more, and it is not killed by SIGPIPE (its
    /// writes wait, as docker's do while the daemon is down).
    @Test func aKilledSupervisorDoesNotKillAWritingContainer() throws {
        let box = try Sandbox()
        let contain = Self.contain(box)
        defer { _ = try? contain(["rm", "-f", "chatty"]) }
        let shared = box.stateRoot + "/shared"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        // One line on each stream, then, once told, as much as it can: a failed write (EPIPE,
        // or SIGPIPE to a process that is not PID 1) ends the loop, and the container.
        let id = try Self.detach(box, "chatty", ["-v", shared + ":/shared"], ["sh", "-c", """
            echo line 0; echo err 0 >&2; until [ -e /shared/go ]; do sleep 0.1; done
            i=1; while echo line $i && echo err $i >&2; do i=$((i+1)); done; exit 3
            """])
        #expect(eventually { ((try? contain(["logs", "chatty"]))?.stdout ?? "") == "line 0\n" })
        let ps = try contain(["ps", "--json"])
        let listed = try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]] ?? []
        let pid = pid_t(try #require(listed.first?["pid"] as? Int, "\(ps)"))
        let supervisor = try ContainerLifecycleTests.supervisor(ofContainer: pid, id: id)
        kill(supervisor, SIGKILL)
        #expect(eventually { ContainerLifecycleTests.isDead(supervisor) }, "the supervisor died")
        try Data().write(to: URL(fileURLWithPath: shared + "/go"))
        usleep(UInt32(1_000_000 * Harness.timeScale))
        #expect(!ContainerLifecycleTests.isDead(pid), "the container outlives its supervisor and its own output")
        let state = try contain(["ps", "-a", "--json"])
        #expect(state.stdout.contains("\"running\""), "\(state)")
        let logs = try contain(["logs", "chatty"])
        #expect(logs.status == 0 && logs.stdout == "line 0\n" && logs.stderr == "err 0\n", "what was logged before is kept: \(logs)")
        let rm = try contain(["rm", "-f", "chatty"])
        #expect(rm.status == 0, "\(rm)")
        #expect(eventually { ContainerLifecycleTests.isDead(pid) })
        box.expectClean()
    }

    /// `--log-opt max-size=1k --log-opt max-file=3`: the log is rotated, the oldest file
    /// dropped, and `logs` reads the files that are left, oldest first.
    @Test
    func rotationKeepsTheNewestFiles() throws {
        let box = try Sandbox()
        let contain = Self.contain(box)
        defer { _ = try? contain(["rm", "-f", "rotating"]) }
        let id = try Self.detach(box, "rotating", ["--log-opt", "max-size=1k", "--log-opt", "max-file=3"], ["seq", "1", "500"])
        #expect(try Self.waitForEnd(contain, "rotating") == "0\n")
        let log = box.stateRoot + "/containers/\(id)/output.log"
        let files = [log, log + ".1", log + ".2"]
        for file in files {
            let size = (try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int
            #expect(size != nil && size! <= 1024, "\(file): \(String(describing: size))")
        }
        #expect(!FileManager.default.fileExists(atPath: log + ".3"), "max-file=3 keeps three files")
        let logs = try contain(["logs", "rotating"])
        let numbers = logs.stdout.split(separator: "\n").compactMap { Int($0) }
        #expect(numbers.last == 500 && numbers.count > 10 && numbers.count < 500, "\(numbers.count) lines")
        #expect(numbers == Array((numbers.first ?? 0)...500), "the newest lines, in order, none missing")
        #expect(try contain(["rm", "rotating"]).status == 0)
        box.expectClean()
    }

    /// `logs -f` follows the log across its rotations: every line, in order, none twice.
    @Test
    func followReadsAcrossRotations() throws {
        let box = try Sandbox()
        let contain = Self.contain(box)
        defer { _ = try? contain(["rm", "-f", "rolling"]) }
        _ = try Self.detach(box, "rolling", ["--log-opt", "max-size=1k", "--log-opt", "max-file=2"],
                            ["sh", "-c", "sleep 1; for i in $(seq 1 300); do echo $i; sleep 0.01; done"])
        let followed = try contain(["logs", "-f", "rolling"])
        #expect(followed.status == 0, "\(followed)")
        #expect(followed.stdout == (1...300).map { "\($0)\n" }.joined(), "\(followed.stdout.count) bytes")
        #expect(try contain(["rm", "rolling"]).status == 0)
        box.expectClean()
    }
}
