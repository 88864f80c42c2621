import Foundation
import Testing

/// `--restart` policies carried out by the detached supervisor, `start` of an ended container,
/// and `restart`: all in place (same id, name, copy-on-write layer and log).
@Suite(.enabled(if: Harness.enabled)) struct RestartTests {
    func contain(_ box: Sandbox) -> ([String]) throws -> RunResult {
        { arguments in try box.contain(box.commonArguments + arguments) }
    }

    func detach(_ box: Sandbox, _ options: [String], _ command: [String]) throws -> String {
        let r = try box.contain(box.commonArguments + ["run", "-d", "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent]
                                + options + ["--"] + command)
        #expect(r.status == 0, "\(r)")
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func state(_ contain: ([String]) throws -> RunResult, _ name: String) -> String {
        (try? contain(["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name]).stdout) ?? ""
    }

    @Test func onFailureRestartsAtMostNTimesInPlace() throws {
        let box = try Sandbox()
        let contain = contain(box)
        _ = try detach(box, ["--name", "flaky", "--restart", "on-failure:2"], ["sh", "-c", "echo run; exit 3"])
        // Three runs in all (the first and two restarts), then it stays exited 3.
        #expect(eventually(timeout: 30) { (try? contain(["logs", "flaky"]).stdout) == "run\nrun\nrun\n" })
        #expect(eventually(timeout: 30) { state(contain, "flaky") == "exited 3\n" })
        let logs = try contain(["logs", "flaky"])
        #expect(logs.stdout == "run\nrun\nrun\n", "\(logs)")
        #expect(try contain(["rm", "flaky"]).status == 0)
        box.expectClean()
    }

    @Test func alwaysRestartsUntilStoppedByHand() throws {
        let box = try Sandbox()
        let contain = contain(box)
        _ = try detach(box, ["--name", "loop", "--restart", "always"], ["sh", "-c", "echo up; sleep 0.3"])
        #expect(eventually(timeout: 30) { ((try? contain(["logs", "loop"]).stdout) ?? "").split(separator: "\n").count >= 3 })
        #expect(eventually(timeout: 30) { state(contain, "loop").hasPrefix("running") })
        let stopped = try contain(["stop", "-t", "1", "loop"])
        #expect(stopped.status == 0, "\(stopped)")
        #expect(eventually(timeout: 20) { state(contain, "loop").hasPrefix("exited") })
        let count = try contain(["logs", "loop"]).stdout.split(separator: "\n").count
        // No restart after a stop by hand: the count stays (the backoff is well under this).
        usleep(UInt32(2_000_000 * Harness.timeScale))
        #expect(try contain(["logs", "loop"]).stdout.split(separator: "\n").count == count)
        #expect(state(contain, "loop").hasPrefix("exited"))
        #expect(try contain(["rm", "loop"]).status == 0)
        box.expectClean()
    }

    @Test func startAndRestartKeepTheContainersFiles() throws {
        let box = try Sandbox()
        let contain = contain(box)
        let id = try detach(box, ["--name", "keeper"], ["sh", "-c", "cat /persist 2>/dev/null || echo first; echo kept > /persist"])
        #expect(eventually(timeout: 20) { state(contain, "keeper") == "exited 0\n" })
        let started = try contain(["start", "keeper"])
        #expect(started.status == 0 && started.stdout == "keeper\n", "\(started)")
        #expect(eventually(timeout: 20) { (try? contain(["logs", "keeper"]).stdout) == "first\nkept\n" })
        #expect(try contain(["ps", "-a", "-q", "--no-trunc"]).stdout == id + "\n")
        #expect(try contain(["rm", "keeper"]).status == 0)

        // restart of a running container: stopped, started again with a new init, same id.
        _ = try detach(box, ["--name", "sleeper"], ["sleep", "60"])
        let before = try contain(["inspect", "-f", "{{.Id}} {{.State.Pid}}", "sleeper"]).stdout
        let restarted = try contain(["restart", "-t", "1", "sleeper"])
        #expect(restarted.status == 0 && restarted.stdout == "sleeper\n", "\(restarted)")
        let after = try contain(["inspect", "-f", "{{.Id}} {{.State.Pid}} {{.State.Status}}", "sleeper"]).stdout
        let b = before.split(separator: " "), a = after.split(separator: " ")
        #expect(a.count == 3 && b.count == 2 && a[0] == b[0] && a[1] != b[1] && a[2] == "running\n", "\(before) → \(after)")
        #expect(try contain(["rm", "-f", "sleeper"]).status == 0)
        box.expectClean()
    }

    @Test func policiesNeedADetachedKeptContainer() throws {
        let box = try Sandbox()
        let foreground = try box.run(["--restart", "always"], ["true"])
        #expect(foreground.status == 125 && foreground.errors.first?.contains("needs -d") == true, "\(foreground)")
        let removed = try box.contain(box.commonArguments + ["run", "-d", "--rm", "--restart", "always", "--rootfs", Harness.rootfs, "true"])
        #expect(removed.status == 125 && removed.errors.first?.contains("conflict") == true, "\(removed)")
        let bad = try box.run(["--restart", "sometimes"], ["true"])
        #expect(bad.status == 125, "\(bad)")
        box.expectClean()
    }
}
