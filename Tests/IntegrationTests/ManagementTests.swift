import Foundation
import Testing

/// docker's management commands against the release binary: pause/unpause (the cgroup freezer
/// on either layout), rename, container prune, and cp both ways, including the symlinks a
/// container plants to lead a copy onto the host. Each test has its own sandbox and proves it
/// left nothing behind.
@Suite(.enabled(if: Harness.enabled), .timeLimit(.minutes(10))) struct ManagementTests {
    /// `contain --root <sandbox> ARGS`.
    static func contain(_ box: Sandbox, _ arguments: [String], timeout: Double = 60) throws -> RunResult {
        try box.contain(box.commonArguments + arguments, timeout: timeout)
    }

    /// `contain run -d -q ...`; returns the id.
    static func detach(_ box: Sandbox, _ options: [String], _ command: [String],
                       sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let r = try contain(box, ["run", "-d", "-q", "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent] + options + ["--"] + command)
        try #require(r.status == 0, "\(r)", sourceLocation: sourceLocation)
        let id = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(id.count == 64, "run -d prints the id: \(r)", sourceLocation: sourceLocation)
        return id
    }

    static func ps(_ box: Sandbox, _ extra: [String] = ["-a"]) throws -> [[String: Any]] {
        let r = try contain(box, ["ps", "--json"] + extra)
        try #require(r.status == 0, "\(r)")
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
    }

    static func status(_ box: Sandbox, _ name: String) throws -> String? {
        try ps(box).first { $0["name"] as? String == name }?["status"] as? String
    }

    static func pid(_ box: Sandbox, _ name: String) throws -> Int32 {
        Int32(try #require(try ps(box).first { $0["name"] as? String == name }?["pid"] as? Int, "\(name) has a pid"))
    }

    /// The container's freezer says every process is frozen (v2: cgroup.events, v1: freezer.state).
    static func frozen(_ box: Sandbox, id: String) -> Bool {
        if Harness.isCgroupV2 {
            let events = (try? String(contentsOfFile: "/sys/fs/cgroup/\(box.cgroupParent)/\(id)/cgroup.events", encoding: .utf8)) ?? ""
            return events.contains("frozen 1")
        }
        let state = (try? String(contentsOfFile: "/sys/fs/cgroup/freezer/\(box.cgroupParent)/\(id)/freezer.state", encoding: .utf8)) ?? ""
        return state.trimmingCharacters(in: .whitespacesAndNewlines) == "FROZEN"
    }

    static func thaw(_ box: Sandbox, id: String) {
        guard !id.isEmpty else { return }
        let (file, value) = Harness.isCgroupV2 ? ("/sys/fs/cgroup/\(box.cgroupParent)/\(id)/cgroup.freeze", "0")
                                               : ("/sys/fs/cgroup/freezer/\(box.cgroupParent)/\(id)/freezer.state", "THAWED")
        if FileManager.default.fileExists(atPath: file) { try? value.write(toFile: file, atomically: false, encoding: .utf8) }
    }

    /// Size of a file as the host sees it inside the container's root.
    static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? -1
    }

    /// `rm -f` of each container, then until no record is left, `gc`: a record is removed a
    /// moment after `rm -f` of a created container returns (its init still dying), and the next
    /// command sweeps what is left.
    static func removeAll(_ box: Sandbox, _ names: [String]) {
        for name in names { _ = try? contain(box, ["rm", "-f", name]) }
        _ = eventually(timeout: 30) {
            _ = try? contain(box, ["gc"])
            return ((try? FileManager.default.contentsOfDirectory(atPath: box.stateRoot + "/containers")) ?? []).isEmpty
        }
    }

    static func scratch() throws -> String {
        let dir = "/run/contain-it-cp-" + String(UInt64.random(in: 0..<UInt64.max), radix: 16)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    // MARK: pause, unpause

    /// A shell that appends to a file 100 times a second stops appending while paused, and
    /// starts again once unpaused; ps, inspect and the errors say what docker's say.
    @Test func pauseFreezesEveryProcessUntilUnpause() throws {
        let box = try Sandbox()
        defer { Self.removeAll(box, ["counter"]); box.expectClean() }
        let id = try Self.detach(box, ["--name", "counter"],
                                 ["sh", "-c", "i=0; while true; do i=$((i+1)); echo $i >> /tmp/n; sleep 0.01; done"])
        let counter = "/proc/\(try Self.pid(box, "counter"))/root/tmp/n"
        #expect(eventually(timeout: 30) { Self.size(counter) > 0 }, "the counter runs")

        let pause = try Self.contain(box, ["pause", "counter"])
        #expect(pause.status == 0 && pause.stdout == "counter\n", "\(pause)")
        #expect(Self.frozen(box, id: id), "the freezer says frozen")
        let before = Self.size(counter)
        usleep(UInt32(500_000 * Harness.timeScale))
        #expect(Self.size(counter) == before, "a paused container does nothing")
        #expect(try Self.status(box, "counter") == "paused")
        #expect(try Self.ps(box, ["--filter", "status=paused"]).count == 1)
        #expect(try Self.ps(box, ["--filter", "status=running"]).isEmpty)
        let table = try Self.contain(box, ["ps"])
        #expect(table.stdout.contains("paused"), "\(table)")
        let inspect = try Self.contain(box, ["inspect", "-f", "{{.State.Status}} {{.State.Paused}} {{.State.Running}}", "counter"])
        #expect(inspect.stdout == "paused true true\n", "\(inspect)")

        let again = try Self.contain(box, ["pause", "counter"])
        #expect(again.status != 0 && again.errors == ["[contain] error: container counter is already paused"], "\(again)")
        let exec = try Self.contain(box, ["exec", "counter", "--", "true"], timeout: 30)
        #expect(exec.status != 0 && exec.errors.first?.contains("is paused") == true, "exec is refused, not frozen: \(exec)")
        // cp reads a paused container: the counter file as it was frozen.
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let copied = try Self.contain(box, ["cp", "counter:/tmp/n", dir + "/n"])
        #expect(copied.status == 0, "\(copied)")
        #expect(Self.size(dir + "/n") == before)

        let unpause = try Self.contain(box, ["unpause", "counter"])
        #expect(unpause.status == 0 && unpause.stdout == "counter\n", "\(unpause)")
        #expect(eventually(timeout: 30) { Self.size(counter) > before }, "unpaused, it counts again")
        #expect(!Self.frozen(box, id: id))
        #expect(try Self.status(box, "counter") == "running")
        let notPaused = try Self.contain(box, ["unpause", "counter"])
        #expect(notPaused.status != 0 && notPaused.errors == ["[contain] error: container counter is not paused"], "\(notPaused)")

        // stop of a paused container: the stop signal, then a thaw, then SIGKILL after -t.
        #expect(try Self.contain(box, ["pause", "counter"]).status == 0)
        let stop = try Self.contain(box, ["stop", "-t", "1", "counter"])
        #expect(stop.status == 0, "\(stop)")
        #expect(try Self.status(box, "counter")?.hasPrefix("exited") == true)
        let stopped = try Self.contain(box, ["pause", "counter"])
        #expect(stopped.errors == ["[contain] error: container counter is not running"], "\(stopped)")
        let unknown = try Self.contain(box, ["pause", "ghost"])
        #expect(unknown.status == 1 && unknown.errors == ["[contain] error: no such container: ghost"], "\(unknown)")
        #expect(try Self.contain(box, ["rm", "counter"]).status == 0)
    }

    /// kill and rm -f end a paused container (cgroup v1 needs the thaw after the signal).
    @Test func killAndRmForceEndAPausedContainer() throws {
        let box = try Sandbox()
        defer { Self.removeAll(box, ["a", "b"]); box.expectClean() }
        _ = try Self.detach(box, ["--name", "a"], ["sleep", "600"])
        _ = try Self.detach(box, ["--name", "b"], ["sleep", "600"])
        let pause = try Self.contain(box, ["pause", "a", "b"])
        #expect(pause.status == 0 && pause.stdout == "a\nb\n", "\(pause)")

        let kill = try Self.contain(box, ["kill", "a"])
        #expect(kill.status == 0, "\(kill)")
        #expect(eventually(timeout: 30) { (try? Self.status(box, "a")) == "exited 137" }, "\(String(describing: try? Self.ps(box)))")
        let rm = try Self.contain(box, ["rm", "-f", "b"])
        #expect(rm.status == 0, "\(rm)")
        #expect(try Self.status(box, "b") == nil)
        #expect(try Self.contain(box, ["rm", "a"]).status == 0)
    }

    /// A paused container whose supervisor died and whose init was then killed (with SIGKILL
    /// pending, frozen on cgroup v1) is reclaimed: its cgroups are thawed before removal.
    @Test func aPausedContainerLeftByADeadSupervisorIsReclaimed() throws {
        let box = try Sandbox()
        var id = ""
        // Should the reclaim fail, the test's own cgroup is thawed so that nothing stays frozen.
        defer { Self.thaw(box, id: id); Self.removeAll(box, ["frozen"]); box.expectClean() }
        id = try Self.detach(box, ["--name", "frozen"], ["sleep", "600"])
        #expect(try Self.contain(box, ["pause", "frozen"]).status == 0)
        let pid = try Self.pid(box, "frozen")
        let supervisor = try ContainerLifecycleTests.supervisor(ofContainer: pid, id: id)
        kill(supervisor, SIGKILL)
        #expect(eventually(timeout: 30) { ContainerLifecycleTests.isDead(supervisor) })
        kill(pid, SIGKILL)
        #expect(eventually(timeout: 30) {
            _ = try? Self.contain(box, ["gc"])
            return ContainerLifecycleTests.isDead(pid) && box.cgroupChildren().isEmpty
        }, "reclaimed: \(box.cgroupChildren())")
    }

    // MARK: rename

    @Test func renameMovesTheNameAndEveryCommandFollows() throws {
        let box = try Sandbox()
        defer { Self.removeAll(box, ["old", "new", "other"]); box.expectClean() }
        let id = try Self.detach(box, ["--name", "old", "--hostname", "box"], ["sleep", "600"])
        _ = try Self.detach(box, ["--name", "other"], ["sleep", "600"])

        let rename = try Self.contain(box, ["rename", "old", "new"])
        #expect(rename.status == 0 && rename.stdout == "", "\(rename)")
        #expect(try Self.ps(box).first { $0["id"] as? String == id }?["name"] as? String == "new")
        #expect(try Self.contain(box, ["inspect", "-f", "{{.Name}}", "new"]).stdout == "new\n")
        let exec = try Self.contain(box, ["exec", "new", "--", "hostname"])
        #expect(exec.status == 0 && exec.stdout == "box\n", "\(exec)")
        let old = try Self.contain(box, ["exec", "old", "--", "true"])
        #expect(old.status == 1 && old.errors == ["[contain] error: no such container: old"], "\(old)")

        let taken = try Self.contain(box, ["rename", "new", "other"])
        #expect(taken.status != 0 && taken.errors.first?.contains("name other is already in use by container") == true, "\(taken)")
        let invalid = try Self.contain(box, ["rename", "new", "no/slashes"])
        #expect(invalid.status != 0 && invalid.errors.first?.contains("invalid name") == true, "\(invalid)")
        // The old name is free again.
        _ = try Self.detach(box, ["--name", "old"], ["true"])
        #expect(try Self.contain(box, ["rm", "-f", "old", "new", "other"]).status == 0)
    }

    // MARK: container prune

    @Test func pruneRemovesStoppedContainersOnly() throws {
        let box = try Sandbox()
        defer { Self.removeAll(box, ["done", "running", "created"]); box.expectClean() }
        let done = try Self.detach(box, ["--name", "done"], ["sh", "-c", "echo bye"])
        _ = try Self.detach(box, ["--name", "running"], ["sleep", "600"])
        let create = try Self.contain(box, ["create", "--name", "created", "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent, "--", "true"])
        #expect(create.status == 0, "\(create)")
        #expect(eventually(timeout: 30) { (try? Self.status(box, "done")) == "exited 0" })

        // Without -f and without a terminal: refused, nothing removed.
        let refused = try Self.contain(box, ["container", "prune"])
        #expect(refused.status != 0 && refused.errors.first?.contains("use contain container prune -f") == true, "\(refused)")
        #expect(try Self.ps(box).count == 3)

        let prune = try Self.contain(box, ["container", "prune", "-f"])
        #expect(prune.status == 0, "\(prune)")
        #expect(prune.stdout.hasPrefix("Deleted Containers:\n\(done)\n\nTotal reclaimed space: "), "\(prune)")
        #expect(try Self.ps(box).compactMap { $0["name"] as? String }.sorted() == ["created", "running"])
        let nothing = try Self.contain(box, ["container", "prune", "-f"])
        #expect(nothing.stdout == "Total reclaimed space: 0B\n", "\(nothing)")
        #expect(try Self.contain(box, ["container", "ls", "-q"]).stdout.split(separator: "\n").count == 2, "container ls is ps")
        #expect(try Self.contain(box, ["rm", "-f", "running", "created"]).status == 0)
    }

    // MARK: cp

    /// Files and directory trees both ways, modes, times and symlinks kept, for a running
    /// container and for one that has ended (through its copy-on-write layer); the rootfs and
    /// the host's mount table are untouched.
    @Test func cpCopiesFilesAndDirectoriesBothWays() throws {
        let box = try Sandbox()
        defer { Self.removeAll(box, ["files"]); box.expectClean() }
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fm = FileManager.default
        try "one\n".write(toFile: dir + "/file", atomically: false, encoding: .utf8)
        try fm.createDirectory(atPath: dir + "/tree/sub", withIntermediateDirectories: true)
        try "deep\n".write(toFile: dir + "/tree/sub/deep", atomically: false, encoding: .utf8)
        try fm.setAttributes([.posixPermissions: 0o750, .modificationDate: Date(timeIntervalSince1970: 1_000_000_000)],
                             ofItemAtPath: dir + "/tree/sub/deep")
        try fm.createSymbolicLink(atPath: dir + "/tree/link", withDestinationPath: "sub/deep")
        let mounts = try mountTable()

        _ = try Self.detach(box, ["--name", "files"], ["sh", "-c", "mkdir -p /data/in; echo made inside > /data/in/note; exec sleep 600"])
        #expect(eventually(timeout: 30) { (try? Self.contain(box, ["exec", "files", "--", "cat", "/data/in/note"]))?.stdout == "made inside\n" })
        // Host → container: a file into a directory, a tree to a new name.
        #expect(try Self.contain(box, ["cp", dir + "/file", "files:/tmp/"]).status == 0)
        #expect(try Self.contain(box, ["cp", dir + "/tree", "files:/srv"]).status == 0)
        let inside = try Self.contain(box, ["exec", "files", "--", "sh", "-c",
                                            "cat /tmp/file /srv/sub/deep; readlink /srv/link; stat -c '%a %Y' /srv/sub/deep"])
        #expect(inside.stdout == "one\ndeep\nsub/deep\n750 1000000000\n", "\(inside)")
        // Container → host: a file, and a tree into an existing directory.
        #expect(try Self.contain(box, ["cp", "files:/data/in/note", dir + "/note"]).status == 0)
        #expect(try String(contentsOfFile: dir + "/note", encoding: .utf8) == "made inside\n")
        try fm.createDirectory(atPath: dir + "/back", withIntermediateDirectories: true)
        #expect(try Self.contain(box, ["cp", "files:/srv", dir + "/back"]).status == 0)
        #expect(try String(contentsOfFile: dir + "/back/srv/sub/deep", encoding: .utf8) == "deep\n")
        #expect(try fm.destinationOfSymbolicLink(atPath: dir + "/back/srv/link") == "sub/deep")
        let missing = try Self.contain(box, ["cp", "files:/nope", dir + "/nope"])
        #expect(missing.status != 0 && missing.errors.first?.contains("no such file or directory: files:/nope") == true, "\(missing)")

        // Ended: read and written through its copy-on-write layer.
        #expect(try Self.contain(box, ["stop", "-t", "0", "files"]).status == 0)
        #expect(try Self.status(box, "files")?.hasPrefix("exited") == true)
        let ended = try Self.contain(box, ["cp", "files:/data/in/.", dir + "/ended"])
        #expect(ended.status == 0, "\(ended)")
        #expect(try String(contentsOfFile: dir + "/ended/note", encoding: .utf8) == "made inside\n")
        #expect(try Self.contain(box, ["cp", dir + "/file", "files:/data/in/later"]).status == 0)
        #expect(try Self.contain(box, ["cp", "files:/data/in/later", dir + "/later"]).status == 0)
        #expect(try String(contentsOfFile: dir + "/later", encoding: .utf8) == "one\n")
        #expect(!fm.fileExists(atPath: Harness.rootfs + "/data") && !fm.fileExists(atPath: Harness.rootfs + "/srv/sub"),
                "the rootfs itself is untouched")
        #expect(try mountTable() == mounts, "no mount left on the host")
        #expect(try Self.contain(box, ["rm", "files"]).status == 0)
    }

    /// A container plants symlinks to `/` and to host paths; copies into it land inside its
    /// root or are refused, never on the host; copies out of it read nothing of the host's.
    @Test func cpNeverLeavesTheContainersRoot() throws {
        let box = try Sandbox()
        defer { Self.removeAll(box, ["planter"]); box.expectClean() }
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fm = FileManager.default
        let hostDir = dir + "/hostdir", hostFile = dir + "/hostfile"
        try fm.createDirectory(atPath: hostDir, withIntermediateDirectories: true)
        try "secret\n".write(toFile: hostDir + "/secret", atomically: false, encoding: .utf8)
        try "host\n".write(toFile: hostFile, atomically: false, encoding: .utf8)
        try "payload\n".write(toFile: dir + "/payload", atomically: false, encoding: .utf8)
        let marker = "contain-cp-escape-" + String(UInt32.random(in: 0..<UInt32.max), radix: 16)

        _ = try Self.detach(box, ["--name", "planter"], ["sleep", "600"])
        let plant = try Self.contain(box, ["exec", "planter", "--", "sh", "-c",
            "ln -s / /escape && mkdir /\(marker) && ln -s \(hostDir) /tmp/x && ln -s \(hostFile) /tmp/y && ln -s ../../../../../..\(hostDir) /tmp/rel"])
        #expect(plant.status == 0, "\(plant)")

        // Through `/escape` (the container's own root): inside.
        let inRoot = try Self.contain(box, ["cp", dir + "/payload", "planter:/escape/\(marker)/file"])
        #expect(inRoot.status == 0, "\(inRoot)")
        #expect(try Self.contain(box, ["exec", "planter", "--", "cat", "/\(marker)/file"]).stdout == "payload\n")
        #expect(!fm.fileExists(atPath: "/" + marker), "nothing on the host's root")
        // Links to host paths that do not exist in the container: refused.
        for dest in ["/tmp/x/file", "/tmp/x", "/tmp/x/", "/tmp/y", "/tmp/rel/file", "/escape\(hostDir)/file"] {
            let r = try Self.contain(box, ["cp", dir + "/payload", "planter:" + dest])
            #expect(r.status != 0, "cp to \(dest) was refused: \(r)")
        }
        #expect(try fm.contentsOfDirectory(atPath: hostDir) == ["secret"])
        #expect(try String(contentsOfFile: hostDir + "/secret", encoding: .utf8) == "secret\n")
        #expect(try String(contentsOfFile: hostFile, encoding: .utf8) == "host\n")
        // Reading through them finds nothing of the host's.
        for source in ["/tmp/x/secret", "/tmp/rel/secret", "/escape\(hostDir)/secret"] {
            let r = try Self.contain(box, ["cp", "planter:" + source, dir + "/got"])
            #expect(r.status != 0, "cp from \(source) was refused: \(r)")
        }
        #expect(!fm.fileExists(atPath: dir + "/got"))
        // The links themselves come out as links.
        #expect(try Self.contain(box, ["cp", "planter:/tmp/x", dir + "/link"]).status == 0)
        #expect(try fm.destinationOfSymbolicLink(atPath: dir + "/link") == hostDir)
        #expect(try Self.contain(box, ["rm", "-f", "planter"]).status == 0)
    }
}
