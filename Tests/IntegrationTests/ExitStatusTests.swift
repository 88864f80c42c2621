import Foundation
import Testing

/// The container's exit status becomes contain's, as in a shell.
@Suite(.enabled(if: Harness.enabled)) struct ExitStatusTests {
    static let cases: [([String], Int32, String)] = [
        (["/bin/true"], 0, "exit status 0"),
        (["/bin/sh", "-c", "exit 3"], 3, "exit status 3"),
        (["/etc/passwd"], 126, "[contain] error: exec `/etc/passwd`: Permission denied"),
        (["/"], 126, "[contain] error: exec `/`: Permission denied"),
        (["no-such-command"], 127, "[contain] error: exec `no-such-command`: command not found"),
        (["/bin/no-such"], 127, "[contain] error: exec `/bin/no-such`: command not found"),
        (["payload", "segv"], 139, "container killed by signal 11 (SIGSEGV)"),
    ]

    @Test(arguments: cases)
    func statusPassesThrough(command: [String], status: Int32, line: String) throws {
        let box = try Sandbox()
        let r = try box.run([], command)
        #expect(r.status == status, "\(r)")
        #expect(r.stderr.contains(line), "\(r)")
        box.expectClean()
    }

    @Test func sigkillFromTheHostGives137() throws {
        let box = try Sandbox()
        let running = try box.start(["run", "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent]
                                    + box.commonArguments + ["--", "/bin/sh", "-c", "echo up; sleep 60"])
        #expect(running.waitForOutput("up"))
        let pids = box.containerPids()
        #expect(pids.count >= 1)
        for pid in pids { kill(pid, SIGKILL) }
        let r = try running.wait()
        #expect(r.status == 137, "\(r)")
        #expect(r.progress.contains("[contain] container killed by signal 9 (SIGKILL)"))
        box.expectClean()
    }
}
