import Foundation
import Testing

/// Signals, terminals, and what happens when contain itself dies.
@Suite(.enabled(if: Harness.enabled)) struct ProcessTests {
    @Test func forwardedSignalsReachTheContainer() throws {
        let box = try Sandbox()
        let running = try box.start(["run", "-q", "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent]
                                    + box.commonArguments + ["--", "payload", "signals"])
        try #require(running.waitForOutput("ready\n"))
        let sent: [(Int32, String)] = [(SIGHUP, "HUP"), (SIGINT, "INT"), (SIGQUIT, "QUIT"), (SIGUSR1, "USR1"),
                                       (SIGUSR2, "USR2"), (SIGWINCH, "WINCH"), (SIGTERM, "TERM")]
        for (signal, name) in sent {
            running.signal(signal)
            #expect(running.waitForOutput("caught \(name)\n"), "\(name): \(running.stdoutSoFar)")
        }
        let r = try running.wait()
        #expect(r.status == 0, "\(r)")
        box.expectClean()
    }

    @Test func sigtermToContainEndsAContainerThatHandlesIt() throws {
        // A shell as PID 1 has no handler for SIGTERM, so (as under docker) the kernel drops it;
        // a trap makes it take effect, and contain then cleans up.
        let box = try Sandbox()
        let running = try box.start(["run", "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent]
                                    + box.commonArguments + ["--", "/bin/sh", "-c", "trap 'exit 143' TERM; echo up; while :; do sleep 0.1; done"])
        try #require(running.waitForOutput("up"))
        running.signal(SIGTERM)
        let r = try running.wait(timeout: 20)
        #expect(r.status == 143, "\(r)")
        #expect(r.progress.last == "[contain] cleaning up cgroups")
        box.expectClean()
    }

    @Test func sigkillOfContainTakesTheContainerAndTheNextRunReclaims() throws {
        let box = try Sandbox()
        let running = try box.start(["run", "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent]
                                    + box.commonArguments + ["--", "/bin/sh", "-c", "echo up; sleep 120"])
        try #require(running.waitForOutput("up"))
        let containerPids = box.containerPids()
        #expect(!containerPids.isEmpty)
        running.signal(SIGKILL)
        _ = try running.wait()
        // The container does not outlive its runtime.
        #expect(eventually(timeout: 10) { containerPids.allSatisfy { kill($0, 0) != 0 } })
        let leftovers = box.cgroupChildren()
        #expect(!leftovers.isEmpty, "a runtime killed with -9 cannot clean up itself")
        // The next contain reclaims what the dead one held.
        let next = try box.run([], ["/bin/true"])
        #expect(next.status == 0, "\(next)")
        #expect(next.progress.contains { $0.hasPrefix("[contain] reclaimed container ") }, "\(next)")
        box.expectClean()
    }

    @Test func interactiveShellOnARealTerminal() throws {
        try Harness.requireEnvironment()
        let box = try Sandbox()
        let terminal = try TerminalSession(
            "\(Harness.binary) run -q -it --hostname ttybox --rootfs \(Harness.rootfs) --root \(box.stateRoot) " +
            "--cgroup-parent \(box.cgroupParent) -- /bin/sh; echo contain-exit=$?; sleep 60",
            scratch: box.stateRoot)
        #expect(terminal.shows("/ #"), "prompt: \(terminal.screen)")
        try terminal.type("hostname; tty; stty size")
        #expect(terminal.shows("ttybox"), "\(terminal.screen)")
        // A pty of the container's own devpts, with the caller's window size.
        #expect(terminal.shows("/dev/pts/0"), "\(terminal.screen)")
        #expect(terminal.shows("30 100"), "\(terminal.screen)")
        try terminal.type("sleep 50")
        usleep(300_000)
        try terminal.press("C-c")
        try terminal.type("echo after-$((40+2))")
        #expect(terminal.shows("after-42"), "Ctrl-C ends the foreground job only: \(terminal.screen)")
        try terminal.type("exit 5")
        #expect(terminal.shows("contain-exit=5"), "\(terminal.screen)")
        box.expectClean()
    }

    /// Without -t the caller's terminal never enters the container: stdin is /dev/null (so
    /// TIOCSTI cannot push input into the caller's shell), stdout and stderr are pipes that
    /// contain relays, and the terminal is usable afterwards.
    @Test func withoutTtyTheCallersTerminalStaysOutside() throws {
        try Harness.requireEnvironment()
        let box = try Sandbox()
        let terminal = try TerminalSession(
            "\(Harness.binary) run -q --rootfs \(Harness.rootfs) --root \(box.stateRoot) " +
            "--cgroup-parent \(box.cgroupParent) -- sh -c 'payload probe tiocsti; tty; ls -l /proc/self/fd/ | grep -c pts'; " +
            "echo contain-exit=$?; sleep 60",
            scratch: box.stateRoot)
        #expect(terminal.shows("contain-exit=1"), "\(terminal.screen)")
        #expect(terminal.shows("tiocsti errno=ENOTTY"), "\(terminal.screen)")
        #expect(terminal.shows("not a tty"), "\(terminal.screen)")
        box.expectClean()
    }
}
