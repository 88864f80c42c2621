import CContainShim
import Foundation
import Testing

/// `contain-oci`, runc's command line, on bundles made with its own `spec`: the lifecycle
/// (create → created, start → running, stopped, delete), `run` in the foreground and detached,
/// kill, state JSON, errors (one line, and a JSON line in --log), nothing left behind.
@Suite(.enabled(if: Harness.enabled)) struct OCIRuntimeTests {
    static var binary: String { (Harness.binary as NSString).deletingLastPathComponent + "/contain-oci" }

    /// A bundle: `rootfs` a link to the test rootfs, config.json from `spec` with `args` and the
    /// sandbox's cgroup parent.
    final class Bundle {
        let directory: String
        let sandbox: Sandbox
        init(_ sandbox: Sandbox, args: [String]) throws {
            self.sandbox = sandbox
            directory = sandbox.stateRoot + "/bundle-" + String(UInt32.random(in: 0..<UInt32.max), radix: 16)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: directory + "/rootfs", withDestinationPath: Harness.rootfs)
            let spec = try OCIRuntimeTests.oci(sandbox, ["spec", "--bundle", directory])
            #expect(spec.status == 0, "\(spec)")
            try edit { config in
                var process = config["process"] as! [String: Any]
                process["args"] = args
                config["process"] = process
            }
        }
        func edit(_ change: (inout [String: Any]) -> Void) throws {
            let path = directory + "/config.json"
            var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
            change(&config)
            try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
        }
        /// The cgroups go under the sandbox's parent: /PARENT/ID (absolute: from the hierarchies' roots).
        func cgroups(for id: String) throws {
            try edit { config in
                var linux = config["linux"] as! [String: Any]
                linux["cgroupsPath"] = "/" + sandbox.cgroupParent + "/" + id
                config["linux"] = linux
            }
        }
    }

    static func oci(_ sandbox: Sandbox, _ arguments: [String], timeout: Double = 60) throws -> RunResult {
        try Running(arguments: ["--root", sandbox.stateRoot + "/oci"] + arguments, stdin: nil, executable: binary).wait(timeout: timeout)
    }

    /// `create` and `run -d`: the container keeps what they were given as its stdin, stdout and
    /// stderr, so their output goes to a file (a pipe would stay open as long as the container
    /// runs); the command itself is bounded by timeout(1).
    static func ociDetached(_ sandbox: Sandbox, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try runTool("/usr/bin/timeout", ["60", binary, "--root", sandbox.stateRoot + "/oci"] + arguments,
                    output: sandbox.stateRoot + "/oci-\(UInt32.random(in: 0..<UInt32.max)).out")
    }

    static func state(_ sandbox: Sandbox, _ id: String) throws -> [String: Any] {
        let r = try oci(sandbox, ["state", id])
        return (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]) ?? ["error": r.stderr]
    }

    @Test func createStartStateKillDelete() throws {
        let sandbox = try Sandbox()
        let bundle = try Bundle(sandbox, args: ["sh", "-c", "trap 'exit 7' TERM; while :; do sleep 1; done"])
        try bundle.cgroups(for: "box")
        let pidFile = bundle.directory + "/pid"
        let created = try Self.ociDetached(sandbox, ["create", "--bundle", bundle.directory, "--pid-file", pidFile, "box"])
        #expect(created.status == 0 && created.output.isEmpty, "\(created)")
        var state = try Self.state(sandbox, "box")
        #expect(state["status"] as? String == "created" && state["id"] as? String == "box", "\(state)")
        #expect(state["bundle"] as? String == bundle.directory && state["ociVersion"] as? String == "1.2.0", "\(state)")
        let pid = (state["pid"] as? Int) ?? 0
        #expect(pid > 0 && (try? String(contentsOfFile: pidFile, encoding: .utf8)) == "\(pid)")
        // Created: the init waits, the command not yet exec'd; started: the init is the command.
        func command() -> String { ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(command() != "sh" && !command().isEmpty, "\(command())")
        #expect(try Self.oci(sandbox, ["start", "box"]).status == 0)
        #expect(eventually(timeout: 10) { command() == "sh" }, "\(command())")
        state = try Self.state(sandbox, "box")
        #expect(state["status"] as? String == "running" && state["pid"] as? Int == pid, "\(state)")
        // In its cgroup in every hierarchy, as runc places it (on v1: blkio and cpuset too).
        let cgroups = ((try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)) ?? "").split(separator: "\n")
            .filter { !$0.contains(":name=") && !(FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory") && $0.hasPrefix("0::")) }
        #expect(!cgroups.isEmpty && cgroups.allSatisfy { $0.hasSuffix("/" + sandbox.cgroupParent + "/box") }, "\(cgroups)")
        let again = try Self.oci(sandbox, ["create", "--bundle", bundle.directory, "box"])
        #expect(again.status == 1 && again.stderr.contains("container box exists"), "\(again)")
        let refused = try Self.oci(sandbox, ["delete", "box"])
        #expect(refused.status == 1 && refused.stderr.contains("is running"), "\(refused)")
        // Paused: frozen, shown so, and refused a second pause; resumed: running again.
        #expect(try Self.oci(sandbox, ["pause", "box"]).status == 0)
        #expect(try Self.state(sandbox, "box")["status"] as? String == "paused")
        let twice = try Self.oci(sandbox, ["pause", "box"])
        #expect(twice.status == 1 && twice.stderr.contains("is paused, not running"), "\(twice)")
        #expect(try Self.oci(sandbox, ["resume", "box"]).status == 0)
        #expect(try Self.state(sandbox, "box")["status"] as? String == "running")
        // update: limits from a resources file, then from flags (-1 lifts one), in the cgroup.
        let resources = bundle.directory + "/resources.json"
        try Data(#"{"memory": {"limit": 67108864}, "pids": {"limit": 40}}"#.utf8).write(to: URL(fileURLWithPath: resources))
        #expect(try Self.oci(sandbox, ["update", "--resources", resources, "box"]).status == 0)
        #expect(EngineTests.cgroupValue(pid: "\(pid)", v1: "memory", "memory.limit_in_bytes", v2: "memory.max") == "67108864")
        #expect(EngineTests.cgroupValue(pid: "\(pid)", v1: "pids", "pids.max", v2: "pids.max") == "40")
        #expect(try Self.oci(sandbox, ["update", "--memory", "32m", "--pids-limit", "-1", "box"]).status == 0)
        #expect(EngineTests.cgroupValue(pid: "\(pid)", v1: "memory", "memory.limit_in_bytes", v2: "memory.max") == "33554432")
        #expect(EngineTests.cgroupValue(pid: "\(pid)", v1: "pids", "pids.max", v2: "pids.max") == "max")
        let badUpdate = try Self.oci(sandbox, ["update", "--memory", "lots", "box"])
        #expect(badUpdate.status == 1 && badUpdate.stderr.contains("--memory lots"), "\(badUpdate)")
        // exec: the command form and a process file, their status and output; what exec
        // cannot honour yet is refused.
        let exec = try Self.oci(sandbox, ["exec", "--env", "GREETING=hi", "--cwd", "/tmp", "box", "sh", "-c", "echo $GREETING from $(pwd) on $(hostname); exit 4"])
        #expect(exec.status == 4 && exec.stdout == "hi from /tmp on runc\n", "\(exec)")
        let processFile = bundle.directory + "/process.json"
        try Data(#"{"args": ["sh", "-c", "echo $FOO in $(pwd) as $(id -u)"], "cwd": "/tmp", "user": {"uid": 0, "gid": 0}, "env": ["PATH=/usr/bin:/bin", "FOO=bar"], "noNewPrivileges": true, "capabilities": {"bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"], "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"], "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]}}"#.utf8)
            .write(to: URL(fileURLWithPath: processFile))
        let fromFile = try Self.oci(sandbox, ["exec", "--process", processFile, "box"])
        #expect(fromFile.status == 0 && fromFile.stdout == "bar in /tmp as 0\n", "\(fromFile)")
        // Detached (podman's and containerd's exec): back once the process runs, its pid (the
        // helper that reports its status to the engine) in the pid file; --cap adds to the
        // container's capabilities.
        let execPid = bundle.directory + "/exec.pid"
        let detached = try Self.ociDetached(sandbox, ["exec", "-d", "--pid-file", execPid, "--cap", "CAP_SYS_TIME", "box",
                                                      "sh", "-c", "grep CapEff /proc/self/status > /dev/shm/detached; sleep 30"])
        #expect(detached.status == 0 && detached.output.isEmpty, "\(detached)")
        let helper = Int32((try? String(contentsOfFile: execPid, encoding: .utf8)) ?? "") ?? 0
        #expect(helper > 0 && kill(helper, 0) == 0, "exec pid \(helper)")
        #expect(eventually(timeout: 10) {
            // runc's spec: AUDIT_WRITE (29), KILL (5), NET_BIND_SERVICE (10); and SYS_TIME (25)
            (try? Self.oci(sandbox, ["exec", "box", "cat", "/dev/shm/detached"]))?.stdout == "CapEff:\t0000000022000420\n"
        })
        for (arguments, words) in [(["exec", "-d", "--tty", "box", "sh"], "give --console-socket"),
                                   (["exec", "--console-socket", "/nowhere", "box", "sh"], "has no terminal"),
                                   (["exec", "--cap", "CAP_NOPE", "box", "sh"], "no such capability"),
                                   (["exec", "box"], "give the command")] {
            let refusedExec = try Self.oci(sandbox, arguments)
            #expect(refusedExec.status == 1 && refusedExec.stderr.contains(words), "\(arguments): \(refusedExec)")
        }
        #expect(try Self.oci(sandbox, ["kill", "box", "TERM"]).status == 0)
        #expect(eventually(timeout: 10) { (try? Self.state(sandbox, "box"))?["status"] as? String == "stopped" })
        let listed = try Self.oci(sandbox, ["list", "--format", "json"])
        #expect(listed.stdout.contains("\"id\":\"box\"") && listed.stdout.contains("\"status\":\"stopped\""), "\(listed)")
        #expect(try Self.oci(sandbox, ["delete", "box"]).status == 0)
        #expect(try Self.oci(sandbox, ["list", "-q"]).stdout.isEmpty)
        sandbox.expectClean()
    }

    /// What `create` is given for stdin, stdout and stderr is the container's (containerd's
    /// shim and podman's conmon pass FIFOs or pipes): its output reaches create's stdout and
    /// stderr once started, and they close when it ends.
    @Test func createHandsItsStreamsToTheContainer() throws {
        let sandbox = try Sandbox()
        let bundle = try Bundle(sandbox, args: ["sh", "-c", "read line; echo \"out: $line\"; echo err >&2"])
        try bundle.cgroups(for: "streams")
        let create = try Running(arguments: ["--root", sandbox.stateRoot + "/oci", "create", "--bundle", bundle.directory, "streams"],
                                 stdin: "a line from the engine\n", executable: Self.binary)
        #expect(eventually(timeout: 20) { (try? Self.state(sandbox, "streams"))?["status"] as? String == "created" })
        #expect(try Self.oci(sandbox, ["start", "streams"]).status == 0)
        let streams = try create.wait(timeout: 30)
        #expect(streams.status == 0 && streams.stdout == "out: a line from the engine\n" && streams.stderr == "err\n", "\(streams)")
        #expect(eventually(timeout: 10) { (try? Self.state(sandbox, "streams"))?["status"] as? String == "stopped" })
        #expect(try Self.oci(sandbox, ["delete", "streams"]).status == 0)
        sandbox.expectClean()
    }

    /// process.terminal: the container's pty master goes to the engine's console socket
    /// (SCM_RIGHTS, as runc sends it); what the engine types reaches the process, which sees a
    /// terminal, and its output comes back on the master.
    @Test func aTerminalsMasterGoesToTheConsoleSocket() throws {
        let sandbox = try Sandbox()
        let bundle = try Bundle(sandbox, args: ["sh", "-c", "tty; read line; echo \"got $line\""])
        try bundle.cgroups(for: "tty")
        try bundle.edit { config in
            var process = config["process"] as! [String: Any]
            process["terminal"] = true
            config["process"] = process
        }
        let path = sandbox.stateRoot + "/console.sock"
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0 && listen(listener, 1) == 0)
        let without = try Self.ociDetached(sandbox, ["create", "--bundle", bundle.directory, "tty"])
        #expect(without.status == 1 && without.output.contains("give --console-socket"), "\(without)")
        // The master is sent during create: the socket's backlog holds the connection until accept.
        let created = try Self.ociDetached(sandbox, ["create", "--bundle", bundle.directory, "--console-socket", path, "tty"])
        #expect(created.status == 0, "\(created)")
        let connection = accept(listener, nil, nil)
        defer { close(connection) }
        var master: Int32 = -1
        var name = [UInt8](repeating: 0, count: 256)
        let received = cshim_receive_with_fd(connection, &name, UInt(name.count), 0, &master)
        #expect(received > 0 && master >= 0)
        defer { if master >= 0 { close(master) } }
        #expect(try Self.oci(sandbox, ["start", "tty"]).status == 0)
        var seen = ""
        _ = "hello\n".withCString { write(master, $0, 6) }
        let deadline = Date().addingTimeInterval(20 * Harness.timeScale)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !seen.contains("got hello"), Date() < deadline {
            var poller = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 200) > 0 else { continue }
            let n = read(master, &buffer, buffer.count)
            if n <= 0 { break }
            seen += String(decoding: buffer[0..<n], as: UTF8.self)
        }
        #expect(seen.contains("/dev/pts/0") && seen.contains("got hello"), "\(seen)")
        #expect(eventually(timeout: 10) { (try? Self.state(sandbox, "tty"))?["status"] as? String == "stopped" })
        #expect(try Self.oci(sandbox, ["delete", "tty"]).status == 0)
        sandbox.expectClean()
    }

    /// A network namespace an engine made (podman's, a pod's) is joined by its path: the
    /// container sees that namespace's interfaces and addresses, not a namespace of its own.
    @Test func joinsAnEnginesNetworkNamespaceByPath() throws {
        let lab = try NetworkLab()
        let bundle = try Bundle(lab.sandbox, args: ["ip", "-4", "-o", "addr"])
        try bundle.cgroups(for: "podnet")
        try bundle.edit { config in
            var linux = config["linux"] as! [String: Any]
            var namespaces = (linux["namespaces"] as! [[String: Any]]).filter { $0["type"] as? String != "network" }
            namespaces.append(["type": "network", "path": "/run/netns/" + lab.host])
            linux["namespaces"] = namespaces
            config["linux"] = linux
        }
        let run = try Self.oci(lab.sandbox, ["run", "--bundle", bundle.directory, "podnet"])
        #expect(run.status == 0 && run.stdout.contains(NetworkLab.hostAddress + "/"), "\(run)")
        try bundle.edit { config in
            var linux = config["linux"] as! [String: Any]
            var namespaces = (linux["namespaces"] as! [[String: Any]]).filter { $0["type"] as? String != "network" }
            namespaces.append(["type": "network", "path": "/run/netns/no-such-namespace"])
            linux["namespaces"] = namespaces
            config["linux"] = linux
        }
        try bundle.cgroups(for: "podnet3")
        let refused = try Self.oci(lab.sandbox, ["run", "--bundle", bundle.directory, "podnet3"])
        #expect(refused.status == 1 && refused.stderr.contains("/run/netns/no-such-namespace does not exist"), "\(refused)")
        #expect(try Self.oci(lab.sandbox, ["list", "-q"]).stdout.isEmpty)
        try lab.expectClean()
    }

    /// A pod: a second container joins the first one's ipc and uts namespaces by path (as
    /// podman's pods and Kubernetes' sandboxes hand them over) and has its hostname; its own
    /// /dev/shm is the bundle's bind when one is listed.
    @Test func joinsAPodsIpcAndUtsNamespacesByPath() throws {
        let sandbox = try Sandbox()
        let pod = try Bundle(sandbox, args: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"])
        try pod.cgroups(for: "pod")
        try pod.edit { config in config["hostname"] = "the-pod" }
        #expect(try Self.ociDetached(sandbox, ["run", "-d", "--bundle", pod.directory, "pod"]).status == 0)
        let pid = (try Self.state(sandbox, "pod")["pid"] as? Int) ?? 0
        let shared = pod.directory + "/shm"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        try "from the pod\n".write(toFile: shared + "/note", atomically: false, encoding: .utf8)
        let member = try Bundle(sandbox, args: ["sh", "-c", "hostname; readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts; cat /dev/shm/note"])
        try member.cgroups(for: "member")
        try member.edit { config in
            config.removeValue(forKey: "hostname")
            var linux = config["linux"] as! [String: Any]
            var namespaces = (linux["namespaces"] as! [[String: Any]]).filter { !["ipc", "uts"].contains($0["type"] as? String) }
            namespaces += [["type": "ipc", "path": "/proc/\(pid)/ns/ipc"], ["type": "uts", "path": "/proc/\(pid)/ns/uts"]]
            linux["namespaces"] = namespaces
            config["linux"] = linux
            config["mounts"] = (config["mounts"] as! [[String: Any]]).filter { $0["destination"] as? String != "/dev/shm" }
                + [["destination": "/dev/shm", "type": "bind", "source": shared, "options": ["rbind", "nosuid", "nodev", "noexec"]]]
        }
        let run = try Self.oci(sandbox, ["run", "--bundle", member.directory, "member"])
        let ipc = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/ipc")) ?? "?"
        let uts = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/uts")) ?? "?"
        #expect(run.status == 0 && run.stdout == "the-pod\n\(ipc)\n\(uts)\nfrom the pod\n", "\(run)")
        #expect(try Self.oci(sandbox, ["kill", "pod", "TERM"]).status == 0)
        #expect(eventually(timeout: 10) { (try? Self.state(sandbox, "pod"))?["status"] as? String == "stopped" })
        #expect(try Self.oci(sandbox, ["delete", "pod"]).status == 0)
        sandbox.expectClean()
    }

    /// kill --all reaches every process in the container's cgroup: without a PID namespace of
    /// its own, the init's end takes nothing with it.
    @Test func killAllSignalsEveryProcessWithoutAPidNamespace() throws {
        let sandbox = try Sandbox()
        let bundle = try Bundle(sandbox, args: ["sh", "-c", "sleep 60 & sleep 60 & wait"])
        try bundle.cgroups(for: "hostpid")
        try bundle.edit { config in
            var linux = config["linux"] as! [String: Any]
            linux["namespaces"] = (linux["namespaces"] as! [[String: Any]]).filter { $0["type"] as? String != "pid" }
            config["linux"] = linux
        }
        #expect(try Self.ociDetached(sandbox, ["run", "-d", "--bundle", bundle.directory, "hostpid"]).status == 0)
        #expect(eventually(timeout: 10) { sandbox.containerPids().count >= 3 }, "\(sandbox.containerPids())")
        let ps = try Self.oci(sandbox, ["ps", "--format", "json", "hostpid"])
        #expect(ps.status == 0 && ps.stdout.hasPrefix("[") && ps.stdout.split(separator: ",").count >= 3, "\(ps)")
        #expect(try Self.oci(sandbox, ["kill", "--all", "hostpid", "KILL"]).status == 0)
        #expect(eventually(timeout: 10) { sandbox.containerPids().isEmpty }, "\(sandbox.containerPids())")
        #expect(eventually(timeout: 10) { (try? Self.state(sandbox, "hostpid"))?["status"] as? String == "stopped" })
        #expect(try Self.oci(sandbox, ["delete", "hostpid"]).status == 0)
        sandbox.expectClean()
    }

    /// hugepageLimits (Kubernetes sets one per page size): in the hugetlb controller where the
    /// host has it (the cgroup v2 VM), refused in one line where it does not (this hybrid host's v1).
    @Test func hugepageLimitsGoToTheHugetlbControllerOrAreRefused() throws {
        let sandbox = try Sandbox()
        let bundle = try Bundle(sandbox, args: ["sh", "-c", "cat /sys/fs/cgroup/hugetlb.2MB.max 2>/dev/null || cat /sys/fs/cgroup/hugetlb/hugetlb.2MB.limit_in_bytes"])
        try bundle.cgroups(for: "huge")
        try bundle.edit { config in
            var linux = config["linux"] as! [String: Any]
            linux["resources"] = ["hugepageLimits": [["pageSize": "2MB", "limit": 4194304]]]
            config["linux"] = linux
        }
        let unified = FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers")
        let available = unified ? ((try? String(contentsOfFile: "/sys/fs/cgroup/cgroup.controllers", encoding: .utf8)) ?? "").contains("hugetlb")
                                : FileManager.default.fileExists(atPath: "/sys/fs/cgroup/hugetlb")
        let run = try Self.oci(sandbox, ["run", "--bundle", bundle.directory, "huge"])
        if available {
            #expect(run.status == 0 && run.stdout == "4194304\n", "\(run)")
        } else {
            #expect(run.status == 1 && run.stderr.contains("cgroup controller `hugetlb` is not available on this host"), "\(run)")
        }
        sandbox.expectClean()
    }

    @Test func runInTheForegroundPassesTheStatusAndDetachedRunsOn() throws {
        let sandbox = try Sandbox()
        let bundle = try Bundle(sandbox, args: ["sh", "-c", "echo hello from oci; exit 3"])
        try bundle.cgroups(for: "fore")
        let run = try Self.oci(sandbox, ["run", "--bundle", bundle.directory, "fore"])
        #expect(run.status == 3 && run.stdout == "hello from oci\n", "\(run)")
        #expect(try Self.oci(sandbox, ["list", "-q"]).stdout.isEmpty, "a foreground run deletes its container")
        try bundle.edit { config in
            var process = config["process"] as! [String: Any]
            process["args"] = ["sleep", "100"]
            config["process"] = process
        }
        try bundle.cgroups(for: "back")
        let detached = try Self.ociDetached(sandbox, ["run", "-d", "--bundle", bundle.directory, "back"])
        #expect(detached.status == 0, "\(detached)")
        #expect(try Self.state(sandbox, "back")["status"] as? String == "running")
        #expect(try Self.oci(sandbox, ["delete", "--force", "back"]).status == 0)
        #expect(try Self.oci(sandbox, ["list", "-q"]).stdout.isEmpty)
        sandbox.expectClean()
    }

    /// config.json's hooks, every kind: each runs once, in runtime-spec's order, with the state
    /// (its status at that point) on stdin; startContainer inside the container (its log is a
    /// bind mount), createContainer with the host's paths. A failing hook fails create with its
    /// output, one past its timeout is killed; nothing is left either way.
    @Test func hooksRunInOrderWithTheStateOnStdin() throws {
        let sandbox = try Sandbox()
        let bundle = try Bundle(sandbox, args: ["sh", "-c", "echo process >> /hooklog/log"])
        try bundle.cgroups(for: "hooked")
        let logDirectory = bundle.directory + "/hooklog"
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        func hook(_ phase: String, log: String, _ script: String? = nil, timeout: Int = 10) -> [String: Any] {
            ["path": "/bin/sh", "args": ["sh", "-c", script ?? "read -r state; echo \"\(phase) $state\" >> \(log)"], "timeout": timeout]
        }
        let host = logDirectory + "/log"
        try bundle.edit { config in
            config["hooks"] = ["prestart": [hook("prestart", log: host)], "createRuntime": [hook("createRuntime", log: host)],
                               "createContainer": [hook("createContainer", log: host)],
                               "startContainer": [hook("startContainer", log: "/hooklog/log")],
                               "poststart": [hook("poststart", log: host)], "poststop": [hook("poststop", log: host)]]
            config["mounts"] = (config["mounts"] as! [[String: Any]])
                + [["destination": "/hooklog", "type": "bind", "source": logDirectory, "options": ["rbind", "rw"]]]
        }
        let created = try Self.ociDetached(sandbox, ["create", "--bundle", bundle.directory, "hooked"])
        #expect(created.status == 0, "\(created)")
        #expect(try Self.oci(sandbox, ["start", "hooked"]).status == 0)
        #expect(eventually(timeout: 10) { (try? Self.state(sandbox, "hooked"))?["status"] as? String == "stopped" })
        #expect(try Self.oci(sandbox, ["delete", "hooked"]).status == 0)
        let lines = ((try? String(contentsOfFile: host, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        let phases = lines.map { String($0.prefix(while: { $0 != " " })) }
        func at(_ phase: String) -> Int { phases.firstIndex(of: phase) ?? -1 }
        #expect(phases.sorted() == ["createContainer", "createRuntime", "poststart", "poststop", "prestart", "process", "startContainer"], "\(lines)")
        #expect(at("prestart") < at("createRuntime") && at("createRuntime") < at("createContainer")
                && at("createContainer") < at("startContainer") && at("startContainer") < at("process")
                && at("startContainer") < at("poststart") && phases.last == "poststop", "\(lines)")
        for (phase, status) in [("prestart", "creating"), ("createRuntime", "creating"), ("createContainer", "creating"),
                                ("startContainer", "created"), ("poststart", "running"), ("poststop", "stopped")] {
            let line = lines.first { $0.hasPrefix(phase + " ") } ?? ""
            #expect(line.contains("\"id\":\"hooked\"") && line.contains("\"status\":\"\(status)\"")
                    && line.contains("\"bundle\":\"\(bundle.directory)\""), "\(line)")
        }

        // A createRuntime hook that fails, then one past its timeout: create fails, saying which.
        for (failing, words) in [(hook("createRuntime", log: host, "echo no such luck; exit 3"), "createRuntime hook /bin/sh failed (exit status 3): no such luck"),
                                 (hook("createRuntime", log: host, "sleep 30", timeout: 1), "createRuntime hook /bin/sh did not finish within 1 s")] {
            try bundle.edit { config in config["hooks"] = ["createRuntime": [failing]] }
            let refused = try Self.ociDetached(sandbox, ["create", "--bundle", bundle.directory, "hooked"])
            #expect(refused.status == 1 && refused.output.contains(words), "\(refused)")
        }
        #expect(try Self.oci(sandbox, ["list", "-q"]).stdout.isEmpty)
        sandbox.expectClean()
    }

    /// A config.json key contain cannot honour is refused by its path, before anything is made;
    /// --log-format json gives podman and containerd the line they read.
    @Test func refusesWhatItCannotHonourInOneLine() throws {
        let sandbox = try Sandbox()
        let bundle = try Bundle(sandbox, args: ["true"])
        try bundle.edit { config in
            var linux = config["linux"] as! [String: Any]
            linux["uidMappings"] = [["containerID": 0, "hostID": 100000, "size": 65536]]
            config["linux"] = linux
        }
        let log = sandbox.stateRoot + "/oci.log"
        let r = try Self.oci(sandbox, ["--log", log, "--log-format", "json", "create", "--bundle", bundle.directory, "nope"])
        #expect(r.status == 1 && r.stderr.split(separator: "\n").count == 1 && r.stderr.contains("linux.uidMappings: user namespaces are not supported yet"), "\(r)")
        let line = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        #expect(json?["level"] as? String == "error" && (json?["msg"] as? String)?.contains("linux.uidMappings") == true, "\(line)")
        for (arguments, words) in [(["state", "ghost"], "container ghost does not exist"), (["start", "ghost"], "container ghost does not exist"),
                                   (["--systemd-cgroup", "list"], "systemd cgroup manager is not supported"),
                                   (["create", "--bundle", "/nonexistent", "x"], "cannot read /nonexistent/config.json"),
                                   (["create", "--bundle", bundle.directory, "bad/id"], "invalid container id")] {
            let refused = try Self.oci(sandbox, arguments)
            #expect(refused.status == 1 && refused.stderr.contains(words), "\(arguments): \(refused)")
        }
        #expect(try Self.oci(sandbox, ["list", "-q"]).stdout.isEmpty)
        sandbox.expectClean()
    }
}
