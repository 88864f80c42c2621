import CContainShim
import Foundation
import Testing

/// Detached containers and what people do with them: ps, exec, logs, kill, stop, rm, stats, gc.
@Suite(.enabled(if: Harness.enabled)) struct LifecycleTests {
    func detach(_ box: Sandbox, _ options: [String], _ command: [String]) throws -> String {
        let r = try box.contain(["run", "-d", "-q", "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent]
                                + box.commonArguments + options + ["--"] + command)
        try #require(r.status == 0, "\(r)")
        let id = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(id.count == 64, "run -d prints the id: \(r)")
        return id
    }

    func ps(_ box: Sandbox, all: Bool = false) throws -> [[String: Any]] {
        let r = try box.contain(["ps", "--json"] + (all ? ["-a"] : []) + box.commonArguments)
        try #require(r.status == 0, "\(r)")
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
    }

    @Test func aDetachedContainerLivesThroughPsExecLogsStopAndRm() throws {
        let box = try Sandbox()
        let id = try detach(box, ["--name", "sleeper", "--hostname", "sleepy", "-e", "GIVEN=at-run"],
                            ["sh", "-c", "echo hello from the container; echo secret > /tmp/note; exec sleep 60"])
        var listed = try ps(box)
        #expect(listed.count == 1)
        #expect(listed.first?["id"] as? String == id)
        #expect(listed.first?["name"] as? String == "sleeper")
        #expect(listed.first?["status"] as? String == "running")
        #expect((listed.first?["pid"] as? Int ?? 0) > 1)

        // exec: same hostname, same PID namespace (PID 1 is the sleep), the file the container wrote.
        #expect(eventually { ((try? box.contain(["exec"] + box.commonArguments + ["sleeper", "--", "cat", "/tmp/note"]))?.stdout) == "secret\n" })
        let inside = try box.contain(["exec"] + box.commonArguments + ["sleeper", "--", "sh", "-c", "hostname; cat /proc/1/comm; ps -o pid,comm | grep -c ."])
        #expect(inside.status == 0, "\(inside)")
        #expect(inside.stdout.hasPrefix("sleepy\nsleep\n"), "\(inside)")
        let env = try box.contain(["exec", "-e", "EXTRA=1"] + box.commonArguments + ["sleeper", "--", "sh", "-c", "echo $GIVEN $EXTRA $HOSTNAME"])
        #expect(env.stdout == "at-run 1 sleepy\n", "exec starts from the container's environment: \(env)")
        let status = try box.contain(["exec"] + box.commonArguments + ["sleeper", "--", "sh", "-c", "exit 42"])
        #expect(status.status == 42, "exec passes the exit status through: \(status)")
        let missing = try box.contain(["exec"] + box.commonArguments + ["sleeper", "--", "no-such-command"])
        #expect(missing.status == 127, "\(missing)")

        let logs = try box.contain(["logs"] + box.commonArguments + ["sleeper"])
        #expect(logs.stdout == "hello from the container\n", "\(logs)")

        // rm of a running container is refused and changes nothing.
        let refused = try box.contain(["rm"] + box.commonArguments + ["sleeper"])
        #expect(refused.status != 0 && refused.errors.first?.contains("is running") == true, "\(refused)")

        // sleep as PID 1 ignores SIGTERM: stop kills it after the timeout.
        let start = Date()
        let stop = try box.contain(["stop", "-t", "1"] + box.commonArguments + ["sleeper"])
        #expect(stop.status == 0, "\(stop)")
        #expect(Date().timeIntervalSince(start) < 8 * Harness.timeScale)
        #expect(try ps(box).isEmpty)
        listed = try ps(box, all: true)
        #expect(listed.first?["status"] as? String == "exited 137", "\(listed)")
        #expect(box.cgroupChildren() == [], "an exited container keeps no cgroup")

        #expect(try box.contain(["rm"] + box.commonArguments + ["sleeper"]).status == 0)
        #expect(try ps(box, all: true).isEmpty)
        // The name is free again.
        _ = try detach(box, ["--name", "sleeper", "--rm"], ["true"])
        #expect(eventually { (try? FileManager.default.contentsOfDirectory(atPath: box.stateRoot + "/containers")) == [] },
                "--rm removes the record")
        box.expectClean()
    }

    @Test func execUnderInitStartsFromTheContainersEnvironment() throws {
        let box = try Sandbox()
        _ = try detach(box, ["--name", "inited", "--init", "-e", "GIVEN=at-run"], ["sleep", "30"])
        // PID 1 is contain's own init here, whose environment is empty: exec must not start from it.
        let r = try box.contain(["exec"] + box.commonArguments + ["inited", "--", "sh", "-c", "echo $GIVEN; echo $PATH"])
        #expect(r.stdout == "at-run\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n", "\(r)")
        #expect(try box.contain(["stop", "-t", "5"] + box.commonArguments + ["inited"]).status == 0)
        // --init passed SIGTERM on: sleep died of it rather than of the SIGKILL after the timeout.
        let listed = try ps(box, all: true)
        #expect(listed.first?["status"] as? String == "exited 143", "\(listed)")
        #expect(try box.contain(["rm"] + box.commonArguments + ["inited"]).status == 0)
        box.expectClean()
    }

    @Test func killDeliversTheSignalToATrap() throws {
        let box = try Sandbox()
        _ = try detach(box, ["--name", "trapper"], ["sh", "-c", "trap 'echo got USR1; exit 3' USR1; echo ready; while :; do sleep 0.1; done"])
        #expect(eventually { ((try? box.contain(["logs"] + box.commonArguments + ["trapper"]))?.stdout ?? "").contains("ready") })
        let kill = try box.contain(["kill", "-s", "USR1"] + box.commonArguments + ["trapper"])
        #expect(kill.status == 0, "\(kill)")
        #expect(eventually { ((try? ps(box, all: true))?.first?["status"] as? String) == "exited 3" })
        #expect(try box.contain(["logs"] + box.commonArguments + ["trapper"]).stdout == "ready\ngot USR1\n")
        let unknown = try box.contain(["kill", "-s", "NOPE"] + box.commonArguments + ["trapper"])
        #expect(unknown.status != 0 && unknown.errors.first?.contains("unknown signal `NOPE`") == true, "\(unknown)")
        #expect(try box.contain(["rm"] + box.commonArguments + ["trapper"]).status == 0)
        box.expectClean()
    }

    @Test func namesAreUniqueAndUnknownContainersAreErrors() throws {
        let box = try Sandbox()
        _ = try detach(box, ["--name", "taken"], ["sleep", "30"])
        let clash = try box.run(["--name", "taken"], ["true"])
        #expect(clash.status == 125 && clash.errors.first?.contains("the name `taken` is already in use") == true, "\(clash)")
        for command in [["logs"], ["kill"], ["stop"], ["rm"], ["exec"]] {
            let r = try box.contain(command + box.commonArguments + ["ghost"] + (command == ["exec"] ? ["--", "true"] : []))
            #expect(r.status != 0 && r.errors.first?.contains("no such container: ghost") == true, "\(command): \(r)")
        }
        #expect(try box.contain(["rm", "-f"] + box.commonArguments + ["taken"]).status == 0)
        box.expectClean()
    }

    @Test func execCannotReachTheHostBinary() throws {
        let box = try Sandbox()
        // SYS_PTRACE: the helper is non-dumpable, so without it the container cannot even
        // read its /proc/PID/exe (hardening hides it); with it, the test can look at the image.
        _ = try detach(box, ["--name", "target", "--cap-add", "SYS_PTRACE"], ["sleep", "30"])
        // The helper pauses before its exec (a test hook), so the container can look at it.
        let slow = try box.start(["exec"] + box.commonArguments + ["target", "--", "true"], environment: ["CONTAIN_TEST_EXEC_DELAY_MS": "2000"])
        usleep(600_000)
        let probe = try box.contain(["exec"] + box.commonArguments + ["target", "--", "sh", "-c", """
            for p in /proc/[0-9]*; do
              l=$(readlink $p/exe)
              case "$l" in /bin/busybox|"") ;; *) echo "image $l"; (echo x >> $p/exe) 2>/dev/null && echo WROTE || echo refused;; esac
            done
            """])
        _ = try slow.wait()
        // The helpers (the slow one and the probe's own) run from a read-only bind mount of
        // contain attached nowhere: its path in the container is "/".
        #expect(probe.stdout.contains("image /\nrefused"), "the helper's image is the sealed view: \(probe)")
        #expect(!probe.stdout.contains("WROTE"), "\(probe)")
        #expect(!probe.stdout.contains(Harness.binary), "the host's binary is visible: \(probe)")
        #expect(try box.contain(["rm", "-f"] + box.commonArguments + ["target"]).status == 0)
        box.expectClean()
    }

    /// What the exec helper and --init run from: this binary on a read-only mount attached
    /// nowhere, whose path shows as "/", never the host's.
    @Test func theSealedViewIsReadOnlyAndNamesNoHostPath() throws {
        let fd = cshim_sealed_self()
        #expect(fd > 3, "errno \(errno)")
        guard fd > 3 else { return }
        defer { close(fd) }
        var info = statvfs()
        #expect(statvfs("/proc/self/fd/\(fd)", &info) == 0)
        #expect(info.f_flag & UInt(ST_RDONLY) != 0, "read-only mount")
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        #expect(n == 1 && buffer[0] == CChar(UInt8(ascii: "/")), "\(String(cString: buffer))")
        #expect(open("/proc/self/fd/\(fd)", O_WRONLY | O_APPEND) == -1)
    }

    @Test func statsShowsMemoryAndPids() throws {
        let box = try Sandbox()
        _ = try detach(box, ["--name", "busy", "--memory", "64M"], ["sh", "-c", "sleep 30 & sleep 30 & wait"])
        let r = try box.contain(["stats", "--no-stream"] + box.commonArguments + ["busy"])
        #expect(r.status == 0, "\(r)")
        let row = r.stdout.split(separator: "\n").first { $0.contains("busy") }.map { $0.split(separator: " ").map(String.init) } ?? []
        #expect(row.contains("64M"), "\(r)")
        #expect(row.contains("3"), "three processes: \(r)")
        #expect(try box.contain(["rm", "-f"] + box.commonArguments + ["busy"]).status == 0)
        box.expectClean()
    }

    /// A detached container outlives its supervisor killed with -9: it keeps running and is
    /// listed, neither `gc` nor any other command reclaims it, exec still works, and `rm -f`
    /// then ends it and leaves nothing (cgroups, record, name).
    @Test func aDetachedContainerOutlivesItsKilledSupervisorUntilRm() throws {
        let box = try Sandbox()
        defer { _ = try? box.contain(["rm", "-f"] + box.commonArguments + ["orphan"]) }
        let id = try detach(box, ["--name", "orphan", "--hostname", "orph"], ["sleep", "60"])
        let containerPid = pid_t(try #require(try ps(box).first?["pid"] as? Int))
        // The supervisor is the parent of the container's PID 1: checked to be the
        // `contain run --supervise-id ID` this test started before it is signalled.
        func stat(_ pid: pid_t) -> [Substring]? {
            (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.split(separator: ")").last?.split(separator: " ")
        }
        func dead(_ pid: pid_t) -> Bool { stat(pid).map { $0.first == "Z" } ?? true }  // gone, or a zombie
        let supervisor = try #require(stat(containerPid)?.dropFirst().first.flatMap { pid_t($0) })
        let cmdline = ((try? String(contentsOfFile: "/proc/\(supervisor)/cmdline", encoding: .utf8)) ?? "").split(separator: "\0").map(String.init)
        try #require(cmdline.contains("--supervise-id") && cmdline.contains(id), "the supervisor: \(cmdline)")
        kill(supervisor, SIGKILL)
        #expect(eventually { dead(supervisor) }, "the supervisor died")

        let gc = try box.contain(["gc"] + box.commonArguments)
        #expect(gc.status == 0, "\(gc)")
        #expect(!gc.stdout.contains(String(id.prefix(12))), "gc must not reclaim a running container: \(gc)")
        #expect(!dead(containerPid), "the container outlives its supervisor")
        let listed = try ps(box)
        #expect(listed.count == 1 && listed.first?["id"] as? String == id, "\(listed)")
        #expect(listed.first?["status"] as? String == "running", "\(listed)")
        #expect(listed.first?["pid"] as? Int == Int(containerPid), "\(listed)")
        #expect(box.containerPids().contains(containerPid), "still in its cgroups")
        let exec = try box.contain(["exec"] + box.commonArguments + ["orphan", "--", "sh", "-c", "hostname; cat /proc/1/comm"])
        #expect(exec.status == 0, "\(exec)")
        #expect(exec.stdout == "orph\nsleep\n", "exec still works: \(exec)")

        let rm = try box.contain(["rm", "-f"] + box.commonArguments + ["orphan"])
        #expect(rm.status == 0, "\(rm)")
        #expect(eventually { dead(containerPid) }, "rm -f ended the container")
        #expect(try ps(box, all: true).isEmpty)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: box.stateRoot + "/names")) ?? []).filter { !$0.hasPrefix(".") }
        #expect(names == [], "name links left behind")
        box.expectClean()
    }

    @Test func execWorksOnARealTerminal() throws {
        let box = try Sandbox()
        _ = try detach(box, ["--name", "host-of-shell", "--hostname", "termbox"], ["sleep", "60"])
        let terminal = try TerminalSession(
            "\(Harness.binary) exec -it --root \(box.stateRoot) host-of-shell -- /bin/sh; echo exec-exit=$?; sleep 60",
            scratch: box.stateRoot)
        #expect(terminal.shows("/ #"), "prompt: \(terminal.screen)")
        try terminal.type("echo $(hostname)-$((6*7))")
        #expect(terminal.shows("termbox-42"), "\(terminal.screen)")
        try terminal.type("sleep 50")
        usleep(300_000)
        try terminal.press("C-c")
        try terminal.type("echo after-$((40+2))")
        #expect(terminal.shows("after-42"), "Ctrl-C ends the foreground job only: \(terminal.screen)")
        try terminal.type("exit 3")
        #expect(terminal.shows("exec-exit=3"), "\(terminal.screen)")
        #expect(try box.contain(["rm", "-f"] + box.commonArguments + ["host-of-shell"]).status == 0)
        box.expectClean()
    }
}
