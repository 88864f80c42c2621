import Foundation
import Testing

/// The OCI-shaped lifecycle as a user drives it: `create`, `start [-a]`, `wait`, `rm`/`delete`,
/// containers that outlive their supervisor, the name files every container gets, and what
/// `--init` runs as PID 1. Each test has its own sandbox (state root and cgroup parent) and,
/// for bridge networks, its own throwaway host namespace, and proves it left nothing behind.
@Suite(.enabled(if: Harness.enabled)) struct ContainerLifecycleTests {
    /// `contain --root <sandbox> ARGS`: the global form, the same for every command.
    typealias Contain = ([String]) throws -> RunResult

    static func contain(_ box: Sandbox) -> Contain { { try box.contain(box.commonArguments + $0) } }
    static func contain(_ lab: NetworkLab) -> Contain { { try lab.contain($0) } }

    static func ps(_ contain: Contain, all: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
        let r = try contain(["ps", "--json"] + (all ? ["-a"] : []))
        try #require(r.status == 0, "\(r)", sourceLocation: sourceLocation)
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
    }

    /// The one container `ps` lists, by name.
    static func listed(_ contain: Contain, _ name: String, all: Bool = false) throws -> [String: Any]? {
        try ps(contain, all: all).first { $0["name"] as? String == name }
    }

    /// `contain create <run options> -- command` on `rootfs`; returns the id it printed.
    static func create(_ contain: Contain, cgroupParent: String, rootfs: String = Harness.rootfs, _ options: [String],
                       _ command: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let r = try contain(["create", "--rootfs", rootfs, "--cgroup-parent", cgroupParent] + options + ["--"] + command)
        try #require(r.status == 0, "\(r)", sourceLocation: sourceLocation)
        let id = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(id.count == 64 && id.allSatisfy(\.isHexDigit), "create prints the id: \(r)", sourceLocation: sourceLocation)
        return id
    }

    /// `contain run -d -q ...`; returns the id.
    static func detach(_ contain: Contain, cgroupParent: String, _ options: [String], _ command: [String],
                       sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let r = try contain(["run", "-d", "-q", "--rootfs", Harness.rootfs, "--cgroup-parent", cgroupParent] + options + ["--"] + command)
        try #require(r.status == 0, "\(r)", sourceLocation: sourceLocation)
        let id = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(id.count == 64, "run -d prints the id: \(r)", sourceLocation: sourceLocation)
        return id
    }

    /// A process's state letter and parent from /proc/PID/stat; nil once it is gone.
    static func procStat(_ pid: pid_t) -> (state: Character, parent: pid_t)? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let fields = stat.split(separator: ")").last?.split(separator: " "), fields.count > 2,
              let state = fields[0].first, let parent = pid_t(fields[1]) else { return nil }
        return (state, parent)
    }

    /// Gone, or a zombie: either way it runs nothing.
    static func isDead(_ pid: pid_t) -> Bool { procStat(pid).map { $0.state == "Z" } ?? true }

    /// The supervising `contain run --supervise-id ID` of the container whose PID 1 is `pid`:
    /// its parent, checked to be that very process before anyone signals it.
    static func supervisor(ofContainer pid: pid_t, id: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> pid_t {
        let parent = try #require(procStat(pid)?.parent, "the container's PID 1 \(pid) runs", sourceLocation: sourceLocation)
        let cmdline = ((try? String(contentsOfFile: "/proc/\(parent)/cmdline", encoding: .utf8)) ?? "")
            .split(separator: "\0").map(String.init)
        try #require(cmdline.contains("--supervise-id") && cmdline.contains(id),
                     "the parent \(parent) of the container is its supervisor: \(cmdline)", sourceLocation: sourceLocation)
        return parent
    }

    /// No name link left in the state root.
    static func expectNoNames(_ box: Sandbox, sourceLocation: SourceLocation = #_sourceLocation) {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: box.stateRoot + "/names")) ?? []).filter { !$0.hasPrefix(".") }
        #expect(names == [], "name links left behind", sourceLocation: sourceLocation)
    }

    /// Polls in the container (busybox sh) for a file, at most `seconds` (scaled): a container
    /// that is never released still ends.
    static func waitForFile(_ path: String, seconds: Double = 60) -> String {
        let polls = Int(seconds * Harness.timeScale / 0.05)
        return "i=0; while [ ! -e \(path) ] && [ $i -lt \(polls) ]; do sleep 0.05; i=$((i+1)); done"
    }

    // MARK: create, start, wait, rm

    /// created (with its PID 1 already there, in its cgroup) → start → running (the same PID 1,
    /// now the command) → wait prints the status → exited → rm leaves nothing.
    @Test func createStartWaitAndRmWalkThroughEveryState() throws {
        let box = try Sandbox()
        let contain = Self.contain(box)
        defer { _ = try? contain(["rm", "-f", "job"]) }
        let id = try Self.create(contain, cgroupParent: box.cgroupParent, ["--name", "job"],
                                 // A moment after the file appears: the exec that made it has ended (PID 1's
                                 // end would otherwise SIGKILL it).
                                 ["sh", "-c", Self.waitForFile("/tmp/go") + "; sleep 0.5; echo released; exit 3"])

        let created = try #require(try Self.listed(contain, "job"), "ps lists a created container")
        #expect(created["id"] as? String == id)
        #expect(created["status"] as? String == "created", "\(created)")
        let pid = try #require(created["pid"] as? Int, "a created container has its PID 1: \(created)")
        #expect(pid > 1 && !Self.isDead(pid_t(pid)), "\(created)")
        #expect(box.containerPids().contains(pid_t(pid)), "the PID 1 waits inside the container's cgroups: \(box.containerPids())")
        let table = try contain(["ps"])
        #expect(table.stdout.contains(String(id.prefix(12))) && table.stdout.contains("created"), "\(table)")

        let start = try contain(["start", "job"])
        #expect(start.status == 0, "\(start)")
        #expect(start.stdout == "job\n", "\(start)")
        let running = try #require(try Self.listed(contain, "job"))
        #expect(running["status"] as? String == "running", "\(running)")
        #expect(running["pid"] as? Int == pid, "the init execs the command: same PID 1")
        // Starting a running container changes nothing.
        #expect(try contain(["start", "job"]).status == 0)

        // wait blocks while it runs, then prints the exit status.
        let waiter = try box.start(box.commonArguments + ["wait", "job"])
        usleep(UInt32(300_000 * Harness.timeScale))
        #expect(waiter.process.isRunning, "wait returned while the container runs: \(waiter.stdoutSoFar)")
        let release = try contain(["exec", "job", "--", "touch", "/tmp/go"])
        #expect(release.status == 0, "\(release)")
        let waited = try waiter.wait(timeout: 60)
        #expect(waited.status == 0, "\(waited)")
        #expect(waited.stdout == "3\n", "wait prints the exit status: \(waited)")
        // Once ended, wait answers at once.
        #expect(try contain(["wait", "job"]).stdout == "3\n")

        let exited = try #require(try Self.listed(contain, "job", all: true), "ps -a keeps the exited container")
        #expect(exited["status"] as? String == "exited 3", "\(exited)")
        #expect(exited["exit_code"] as? Int == 3, "\(exited)")
        #expect(try Self.ps(contain).isEmpty, "ps without -a lists only live containers")
        #expect(box.cgroupChildren() == [], "an exited container keeps no cgroup")
        #expect(try contain(["logs", "job"]).stdout == "released\n")
        // As docker: start of an ended container runs it again, in place.
        let again = try contain(["start", "job"])
        #expect(again.status == 0 && again.stdout == "job\n", "\(again)")
        #expect(try contain(["wait", "job"]).stdout == "3\n")
        #expect(try contain(["logs", "job"]).stdout == "released\nreleased\n")

        let rm = try contain(["rm", "job"])
        #expect(rm.status == 0, "\(rm)")
        #expect(try Self.ps(contain, all: true).isEmpty)
        Self.expectNoNames(box)
        box.expectClean()
    }

    /// The `contain create` process ends at once; the container it made waits for `start`,
    /// through `ps`, `gc` and other containers' runs (none of which reclaims it), and
    /// `start -a` then prints its output and exits with its status.
    @Test func aCreatedContainerOutlivesCreateAndStartAttachPrintsItsOutputAndStatus() throws {
        let box = try Sandbox()
        let contain = Self.contain(box)
        defer { _ = try? contain(["rm", "-f", "later"]) }
        let id = try Self.create(contain, cgroupParent: box.cgroupParent, ["--name", "later", "-q"],
                                 ["sh", "-c", "echo out of the created one; echo err of the created one >&2; exit 5"])
        let pid = try #require(try Self.listed(contain, "later")?["pid"] as? Int)
        usleep(UInt32(300_000 * Harness.timeScale))

        let gc = try contain(["gc"])
        #expect(gc.status == 0, "\(gc)")
        #expect(!gc.stdout.contains(String(id.prefix(12))), "gc must not reclaim a created container: \(gc)")
        let other = try box.run(["-q"], ["true"])  // a run reclaims what dead runtimes left
        #expect(other.status == 0, "\(other)")
        let still = try #require(try Self.listed(contain, "later"), "the created container is still listed")
        #expect(still["status"] as? String == "created", "\(still)")
        #expect(still["pid"] as? Int == pid && !Self.isDead(pid_t(pid)), "\(still)")

        let attached = try contain(["start", "-a", "later"])
        #expect(attached.status == 5, "start -a exits with the container's status: \(attached)")
        #expect(attached.stdout.contains("out of the created one\n"), "\(attached)")
        #expect((attached.stdout + attached.stderr).contains("err of the created one\n"), "\(attached)")
        #expect(try Self.listed(contain, "later", all: true)?["status"] as? String == "exited 5")
        #expect(try contain(["wait", "later"]).stdout == "5\n")

        let delete = try contain(["delete", "later"])
        #expect(delete.status == 0, "delete is rm: \(delete)")
        #expect(try Self.ps(contain, all: true).isEmpty)
        #expect(Self.isDead(pid_t(pid)))
        Self.expectNoNames(box)
        box.expectClean()
    }

    /// A command that does not exist is found missing at create time: 127, one error line,
    /// no id, nothing left (record, name, cgroup). An empty command is 127 too.
    @Test func aMissingCommandFailsCreateWith127AndLeavesNothing() throws {
        let box = try Sandbox()
        let contain = Self.contain(box)
        let r = try contain(["create", "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent, "--name", "ghostly",
                             "--", "no-such-command", "arg"])
        #expect(r.status == 127, "\(r)")
        #expect(r.stdout == "", "no id for a container that was not made: \(r)")
        #expect(r.errors.count == 1, "one clear error line: \(r)")
        #expect(r.errors.first?.contains("no-such-command") == true && r.errors.first?.contains("not found") == true, "\(r)")
        #expect(try Self.ps(contain, all: true).isEmpty)
        Self.expectNoNames(box)
        box.expectClean()

        let empty = try box.run([], [""])
        #expect(empty.status == 127, "run -- '' : \(empty)")
        #expect(empty.errors.count == 1, "\(empty)")
        let emptyCreate = try contain(["create", "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent, "--", ""])
        #expect(emptyCreate.status == 127, "create -- '' : \(emptyCreate)")
        #expect(emptyCreate.errors.count == 1, "\(emptyCreate)")

        // The name was never taken.
        _ = try Self.create(contain, cgroupParent: box.cgroupParent, ["--name", "ghostly", "-q"], ["true"])
        #expect(try contain(["rm", "-f", "ghostly"]).status == 0)
        #expect(try Self.ps(contain, all: true).isEmpty)
        Self.expectNoNames(box)
        box.expectClean()
    }

    // (kill -9 of a foreground bridged run, reclaimed by the next command, is
    // NetworkTests.killNineOfTheRuntimeIsReclaimedByTheNextCommand.)

    // MARK: exec

    /// exec of the binary under test (the release build): it reads its arguments without
    /// /proc/self/cmdline, which the helper cannot see inside the container.
    @Test func execPrintsTheContainersHostname() throws {
        let box = try Sandbox()
        let contain = Self.contain(box)
        defer { _ = try? contain(["rm", "-f", "target"]) }
        _ = try Self.detach(contain, cgroupParent: box.cgroupParent, ["--name", "target", "--hostname", "exec-host"], ["sleep", "60"])
        let r = try contain(["exec", "target", "--", "hostname"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == "exec-host\n", "\(r)")
        let args = try contain(["exec", "target", "--", "sh", "-c", "echo \"$0|$1|$2\"; cat /etc/hostname", "zero", "one two", ""])
        #expect(args.stdout == "zero|one two|\nexec-host\n", "arguments arrive as given: \(args)")
        #expect(try contain(["rm", "-f", "target"]).status == 0)
        Self.expectNoNames(box)
        box.expectClean()
    }

    // MARK: name files

    /// On a rootfs with no /etc/hosts, /etc/resolv.conf or /etc/hostname, every container gets
    /// all three (made in its copy-on-write layer), two named containers on one bridge reach
    /// each other by name, and the rootfs is left without them.
    @Test func containersOnARootfsWithoutNameFilesGetThemAndFindEachOtherByName() throws {
        let lab = try NetworkLab()
        // Not <state root>/rootfs: that is contain's tarball cache.
        let bare = lab.sandbox.stateRoot + "/bare-rootfs"
        let copied = try runTool("/bin/cp", ["-a", Harness.rootfs, bare], output: lab.sandbox.stateRoot + "/cp.out")
        try #require(copied.status == 0, "cp -a: \(copied.output)")
        for file in ["hosts", "resolv.conf", "hostname"] { try? FileManager.default.removeItem(atPath: bare + "/etc/" + file) }
        let etcBefore = try FileManager.default.contentsOfDirectory(atPath: bare + "/etc").sorted()
        #expect(!etcBefore.contains("hosts") && !etcBefore.contains("resolv.conf") && !etcBefore.contains("hostname"))

        func run(_ options: [String], _ script: String) throws -> Running {
            try lab.start(["run", "-q", "--rootfs", bare, "--cgroup-parent", lab.sandbox.cgroupParent] + options + ["--", "sh", "-c", script])
        }
        let server = try run(["--net", "bridge", "--name", "server", "--hostname", "srv"], """
            cat /etc/hostname; [ -s /etc/resolv.conf ] && echo has-resolv; grep -q localhost /etc/hosts && echo has-localhost
            echo listening; nc -l -p 7070 -e echo hello-from-server; echo served
            """)
        #expect(server.waitForOutput("listening"), "\(server.stdoutSoFar)")
        // The server's nc may not listen yet: the client retries, boundedly.
        let client = try run(["--net", "bridge", "--name", "client", "--hostname", "cli"], """
            cat /etc/hostname; nslookup server | grep '^Address: '
            i=0; until nc -w 2 server 7070 </dev/null > /tmp/got && grep -q hello /tmp/got; do
              i=$((i+1)); [ $i -gt \(Int(100 * Harness.timeScale)) ] && exit 9; sleep 0.1
            done; cat /tmp/got
            """)
        let clientResult = try client.wait(timeout: 60)
        let serverResult = try server.wait(timeout: 60)
        #expect(clientResult.status == 0, "\(clientResult)")
        #expect(clientResult.stdout.hasPrefix("cli\n"), "/etc/hostname holds the hostname: \(clientResult)")
        #expect(clientResult.stdout.contains("\nAddress: 10.88.0.2\n"), "the network's name server knows the peer: \(clientResult)")
        #expect(clientResult.stdout.hasSuffix("hello-from-server\n"), "reached the server by name: \(clientResult)")
        #expect(serverResult.status == 0, "\(serverResult)")
        #expect(serverResult.stdout == "srv\nhas-resolv\nhas-localhost\nlistening\nserved\n", "\(serverResult)")

        // Without a network too.
        let none = try run(["--net", "none", "--hostname", "alone"],
                           "cat /etc/hostname; [ -f /etc/resolv.conf ] && echo has-resolv; grep -c localhost /etc/hosts")
        let noneResult = try none.wait(timeout: 60)
        #expect(noneResult.status == 0 && noneResult.stdout.hasPrefix("alone\nhas-resolv\n"), "\(noneResult)")

        let etcAfter = try FileManager.default.contentsOfDirectory(atPath: bare + "/etc").sorted()
        #expect(etcAfter == etcBefore, "nothing was written into the rootfs's /etc")
        #expect(!FileManager.default.fileExists(atPath: bare + "/etc/hosts"))
        try lab.expectClean()
    }

    // MARK: --init

    /// --init's PID 1 runs from a read-only view of contain attached nowhere: the container
    /// cannot see, let alone write, the host's binary through /proc/1/exe.
    @Test func initRunsFromASealedViewNotTheHostBinary() throws {
        let box = try Sandbox()
        let contain = Self.contain(box)
        defer { _ = try? contain(["rm", "-f", "inited"]) }
        let probe = "readlink /proc/1/exe; (echo x >> /proc/1/exe) 2>/dev/null && echo WROTE || echo refused"
        let r = try box.run(["-q", "--init"], ["sh", "-c", probe])
        #expect(r.status == 0, "\(r)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "/", "\(r)")
        #expect(!r.stdout.contains(Harness.binary) && !r.stdout.contains("/contain\n"), "the host's binary is visible: \(r)")
        #expect(lines.last == "refused", "\(r)")
        // Without --init, PID 1 is the command itself.
        #expect(try box.run(["-q"], ["readlink", "/proc/1/exe"]).stdout == "/bin/busybox\n")

        // The same for a created container, seen through exec once started.
        _ = try Self.create(contain, cgroupParent: box.cgroupParent, ["--name", "inited", "--init", "-q"], ["sleep", "60"])
        #expect(try contain(["start", "inited"]).status == 0)
        let exe = try contain(["exec", "inited", "--", "readlink", "/proc/1/exe"])
        #expect(exe.stdout == "/\n", "\(exe)")
        #expect(try contain(["rm", "-f", "inited"]).status == 0)
        Self.expectNoNames(box)
        box.expectClean()
    }

    // MARK: outliving the supervisor

    /// A detached container outlives its supervisor killed with -9; `stop` ends it and `rm`
    /// then removes what is left: lease, port rule, veth, cgroups, record, name.
    @Test func stopThenRmOfAContainerWhoseSupervisorWasKilledLeavesNothing() throws {
        let lab = try NetworkLab()
        let contain = Self.contain(lab)
        defer { _ = try? contain(["rm", "-f", "orphan"]); _ = try? contain(["gc"]) }
        let id = try Self.detach(contain, cgroupParent: lab.sandbox.cgroupParent,
                                 ["--net", "bridge", "--name", "orphan", "-p", "8082:80"], ["sleep", "60"])
        let pid = pid_t(try #require(try Self.listed(contain, "orphan")?["pid"] as? Int))
        let supervisor = try Self.supervisor(ofContainer: pid, id: id)
        kill(supervisor, SIGKILL)
        #expect(eventually { Self.isDead(supervisor) }, "the supervisor died")
        #expect(try Self.listed(contain, "orphan")?["status"] as? String == "running")

        let stop = try contain(["stop", "-t", "1", "orphan"])
        #expect(stop.status == 0, "\(stop)")
        #expect(eventually { Self.isDead(pid) }, "stop ended the container")
        let rm = try contain(["rm", "orphan"])
        #expect(rm.status == 0, "rm after stop: \(rm)")
        #expect(lab.leases() == [], "the lease is released by stop + rm: \(lab.leases())")
        #expect(try !lab.nftTable().contains("dnat ip to"), "the port rule is removed by stop + rm")
        #expect(try Self.ps(contain, all: true).isEmpty)
        Self.expectNoNames(lab.sandbox)
        try lab.expectClean()
    }

    /// A zombie is dead: the container's supervisor and then its PID 1 killed under a
    /// subreaper that never reaps them (a python3 helper, parent of `run -d`), `rm -f` still
    /// ends it and releases lease, port rule, veth, cgroups and record.
    @Test func aZombieInitCountsAsDead() throws {
        let lab = try NetworkLab()
        let contain = Self.contain(lab)
        defer { _ = try? contain(["rm", "-f", "zombie"]); _ = try? contain(["gc"]) }
        let linger = Int(120 * Harness.timeScale)
        let script = """
            import ctypes, subprocess, sys, time
            libc = ctypes.CDLL(None, use_errno=True)
            assert libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
            r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            sys.stderr.write(r.stderr)
            print("started", r.returncode, r.stdout.strip(), flush=True)
            time.sleep(\(linger))
            """
        let reaper = try Running(arguments: ["-c", script, NetworkLab.nsenter, "--net=/run/netns/" + lab.host, Harness.binary]
                                 + lab.sandbox.commonArguments
                                 + ["run", "-d", "-q", "--rootfs", Harness.rootfs, "--cgroup-parent", lab.sandbox.cgroupParent,
                                    "--net", "bridge", "--name", "zombie", "-p", "8083:80", "--", "sleep", "60"],
                                 stdin: nil, executable: "/usr/bin/python3")
        defer { reaper.signal(SIGKILL); _ = try? reaper.wait(timeout: 10) }
        try #require(reaper.waitForOutput("started 0 ", timeout: 60) && eventually { reaper.stdoutSoFar.hasSuffix("\n") },
                     "run -d under the subreaper: \(reaper.stdoutSoFar)")
        let id = reaper.stdoutSoFar.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        let pid = pid_t(try #require(try Self.listed(contain, "zombie")?["pid"] as? Int))
        let supervisor = try Self.supervisor(ofContainer: pid, id: id)
        #expect(Self.procStat(supervisor)?.parent == reaper.pid, "the supervisor is the subreaper's")
        kill(supervisor, SIGKILL)
        #expect(eventually { Self.procStat(supervisor)?.state == "Z" }, "the supervisor stays a zombie")
        #expect(try Self.listed(contain, "zombie")?["status"] as? String == "running", "the container lives on")
        #expect(lab.leases().count == 1)

        let rm = try contain(["rm", "-f", "zombie"])
        #expect(rm.status == 0, "\(rm)")
        #expect(Self.procStat(pid)?.state == "Z", "the container's PID 1 is an unreaped zombie now")
        #expect(try !lab.nftTable().contains("dnat ip to"), "the port rule is removed")
        #expect(try Self.ps(contain, all: true).isEmpty)
        Self.expectNoNames(lab.sandbox)
        try lab.expectClean()
    }
    // MARK: kill -9 at any moment

    /// A foreground bridged `contain run` with a name and a published port, killed with -9 at
    /// moments spread over its start (from before it has parsed its flags to after the
    /// command runs): after one `gc`, nothing is left (no record, staging directory, name,
    /// lease, port rule, veth or cgroup), and the name and port can be used again.
    @Test func killNineAtAnyMomentOfAStartLeavesNothingAfterGc() throws {
        let lab = try NetworkLab()
        let contain = Self.contain(lab)
        let delaysMilliseconds: [UInt32] = [0, 1, 2, 3, 4, 6, 8, 11, 15, 20, 30, 50, 80]
        for (i, delay) in delaysMilliseconds.enumerated() {
            let victim = try lab.startRun(["--net", "bridge", "--name", "victim", "-p", "\(9100 + i):80"], ["sleep", "30"])
            usleep(delay * 1000)
            victim.signal(SIGKILL)
            _ = try victim.wait()
        }
        let gc = try contain(["gc"])
        #expect(gc.status == 0, "\(gc)")
        #expect(try Self.ps(contain, all: true).isEmpty)
        #expect(try !lab.nftTable().contains("dnat ip to"), "no port rule left")
        Self.expectNoNames(lab.sandbox)
        try lab.expectClean()
        // The name and a port are free again.
        let again = try lab.run(["--net", "bridge", "--name", "victim", "-p", "9100:80"], ["true"])
        #expect(again.status == 0, "\(again)")
        try lab.expectClean()
    }
    // MARK: inspect

    /// docker's field names: state while it runs and after it ended (exit code, OOM kill), its
    /// configuration, and --format with a field path.
    @Test func inspectShowsStateConfigurationAndOOMKills() throws {
        let box = try Sandbox()
        let contain = Self.contain(box)
        defer { _ = try? contain(["rm", "-f", "insp"]); _ = try? contain(["rm", "-f", "oom"]) }
        _ = try Self.detach(contain, cgroupParent: box.cgroupParent, ["--name", "insp", "--hostname", "inspected", "-e", "K=v"],
                            ["sleep", "60"])
        let running = try contain(["inspect", "--format", "{{.State.Status}} {{.Config.Hostname}} {{.State.Running}}", "insp"])
        #expect(running.status == 0 && running.stdout == "running inspected true\n", "\(running)")
        let json = try contain(["inspect", "insp"])
        let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        let document = try #require(parsed?.first, "\(json)")
        #expect(((document["Config"] as? [String: Any])?["Env"] as? [String] ?? []).contains("K=v"), "\(document)")
        #expect(((document["HostConfig"] as? [String: Any])?["Capabilities"] as? [String])?.count == 14, "\(document)")
        #expect(try contain(["stop", "-t", "0", "insp"]).status == 0)
        let ended = try contain(["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.State.OOMKilled}}", "insp"])
        #expect(ended.stdout == "exited 137 false\n", "\(ended)")
        // A container the OOM killer ended says so.
        _ = try Self.detach(contain, cgroupParent: box.cgroupParent, ["--name", "oom", "--memory", "16M"], ["payload", "alloc", "64"])
        #expect(eventually { (try? contain(["inspect", "-f", "{{.State.Status}}", "oom"]))?.stdout == "exited\n" })
        let oom = try contain(["inspect", "-f", "{{.State.ExitCode}} {{.State.OOMKilled}}", "oom"])
        #expect(oom.stdout == "137 true\n", "\(oom)")
        let bad = try contain(["inspect", "-f", "{{.State.Nope}}", "oom"])
        #expect(bad.status == 125 && bad.errors.count == 1, "\(bad)")
        #expect(try contain(["rm", "insp", "oom"]).status == 0)
        box.expectClean()
    }
    // MARK: docker's everyday flags

    /// --label with ps --filter, --stop-signal/--stop-timeout used by stop, port, top.
    @Test func labelsFiltersStopSignalPortAndTop() throws {
        let lab = try NetworkLab()
        let contain = Self.contain(lab)
        defer { _ = try? contain(["rm", "-f", "web", "other"]) }
        _ = try Self.detach(contain, cgroupParent: lab.sandbox.cgroupParent,
                            ["--name", "web", "--label", "tier=front", "--stop-signal", "USR1", "--stop-timeout", "30",
                             "--net", "bridge", "-p", "8089:80"],
                            ["sh", "-c", "trap 'echo got-usr1; exit 7' USR1; while :; do sleep 0.1; done"])
        _ = try Self.detach(contain, cgroupParent: lab.sandbox.cgroupParent, ["--name", "other"], ["sleep", "60"])
        #expect(try contain(["ps", "-q", "--filter", "label=tier=front"]).stdout.split(separator: "\n").count == 1)
        #expect(try contain(["ps", "-q", "--filter", "label=tier"]).stdout.split(separator: "\n").count == 1)
        #expect(try contain(["ps", "-q", "--filter", "name=oth"]).stdout.split(separator: "\n").count == 1)
        #expect(try contain(["ps", "-q"]).stdout.split(separator: "\n").count == 2)
        #expect(try contain(["port", "web"]).stdout == "80/tcp -> 0.0.0.0:8089\n")
        let top = try contain(["top", "web"])
        #expect(top.status == 0 && top.stdout.contains("trap"), "\(top)")
        // stop sends the container's own stop signal, which its trap answers at once (not after 30 s).
        let started = Date()
        #expect(try contain(["stop", "web"]).status == 0)
        #expect(Date().timeIntervalSince(started) < 20 * Harness.timeScale)
        #expect(try contain(["logs", "web"]).stdout == "got-usr1\n")
        let ended = try contain(["ps", "-a", "--filter", "status=exited"])
        #expect(ended.stdout.contains("exited 7"), "\(ended)")
        let bad = try contain(["ps", "--filter", "colour=red"])
        #expect(bad.status == 125 && bad.errors.count == 1, "\(bad)")
        #expect(try contain(["rm", "-f", "web", "other"]).status == 0)
        try lab.expectClean()
    }
    /// `run -d` prints only the id, as docker does; its progress is in the record's runtime.log.
    @Test func detachPrintsOnlyTheId() throws {
        let box = try Sandbox()
        let contain = Self.contain(box)
        let r = try contain(["run", "-d", "--name", "quiet", "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent,
                             "sleep", "60"])
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r)")
        let id = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.count == 64, "\(r)")
        let log = (try? String(contentsOfFile: box.stateRoot + "/containers/\(id)/runtime.log", encoding: .utf8)) ?? ""
        #expect(log.contains("[contain] creating namespaces"), "progress kept in the runtime log: \(log)")
        let full = try contain(["ps", "--no-trunc", "-q"])
        #expect(full.stdout == id + "\n", "\(full)")
        #expect(try contain(["rm", "-f", "quiet"]).status == 0)
        box.expectClean()
    }
}
