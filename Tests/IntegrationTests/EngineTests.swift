import Foundation
import Testing

/// podman and containerd, from Debian's packages, with `contain-oci` as their runtime: what a
/// user of either does, checked as that user would, and nothing left behind. Each engine gets
/// private storage, state and sockets in the test's sandbox, runs in the throwaway namespace
/// that plays the host (its bridge, NAT and port rules die with it), and puts its containers'
/// cgroups under the sandbox's parent.
@Suite(.enabled(if: Harness.enabled)) struct EngineTests {
    static let podmanBinary = "/usr/bin/podman"
    static let ctrBinary = "/usr/bin/ctr"
    static let containerdBinary = "/usr/bin/containerd"

    /// A copy of the test rootfs (an engine may write into a rootfs it is given) with a web page.
    static func rootfs(in directory: String) throws -> String {
        let rootfs = directory + "/rootfs"
        let copied = try runTool("/bin/cp", ["-a", Harness.rootfs, rootfs], output: directory + "/cp.out")
        try #require(copied.status == 0, "cp: \(copied.output)")
        try FileManager.default.createDirectory(atPath: rootfs + "/www", withIntermediateDirectories: true)
        try "hello from podman\n".write(toFile: rootfs + "/www/index.html", atomically: false, encoding: .utf8)
        return rootfs
    }

    /// The limit file `name` (v1: `memory.limit_in_bytes` in the memory hierarchy; v2:
    /// `memory.max`) of the cgroup `pid` is in, as the host sees it.
    static func cgroupValue(pid: String, v1 controller: String, _ v1File: String, v2 v2File: String) -> String {
        let lines = ((try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)) ?? "").split(separator: "\n")
        let unified = FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers")
        let line = lines.first { unified ? $0.hasPrefix("0::") : $0.split(separator: ":")[1].split(separator: ",").contains(Substring(controller)) }
        guard let path = line?.split(separator: ":", maxSplits: 2).last else { return "no cgroup line" }
        let file = unified ? "/sys/fs/cgroup\(path)/\(v2File)" : "/sys/fs/cgroup/\(controller)\(path)/\(v1File)"
        return ((try? String(contentsOfFile: file, encoding: .utf8)) ?? file).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// podman with private storage, run and network directories, contain-oci (its state in the
    /// sandbox) as the runtime, the cgroupfs manager, and default ulimits within this machine's
    /// hard limits (its bounding set has no CAP_SYS_RESOURCE to raise them).
    final class Podman {
        let lab: NetworkLab
        let directory: String
        let rootfs: String
        var cgroupParent: String { "/" + lab.sandbox.cgroupParent }
        var environment: [String: String] {
            ["CONTAINERS_CONF": directory + "/containers.conf", "CONTAINERS_STORAGE_CONF": directory + "/storage.conf",
             "CONTAINERS_REGISTRIES_CONF": "/dev/null"]
        }
        var global: [String] {
            // contain-oci's default root: podman's cleanup after a container's end does not pass
            // --runtime-flag to the runtime's `delete`.
            ["--runtime", OCIRuntimeTests.binary, "--cgroup-manager", "cgroupfs"]
        }

        init(_ lab: NetworkLab) throws {
            self.lab = lab
            directory = lab.sandbox.stateRoot + "/podman"
            for sub in ["storage", "run", "tmp", "net", "cni"] {
                try FileManager.default.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
            }
            rootfs = try EngineTests.rootfs(in: directory)
            let d = directory
            try """
                [containers]
                default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
                log_driver = "k8s-file"
                [engine]
                cgroup_manager = "cgroupfs"
                events_logger = "file"
                events_logfile_path = "\(d)/events.log"
                tmp_dir = "\(d)/tmp"
                static_dir = "\(d)/storage/libpod"
                volume_path = "\(d)/storage/volumes"
                [network]
                network_backend = "cni"
                network_config_dir = "\(d)/net"
                """.write(toFile: d + "/containers.conf", atomically: false, encoding: .utf8)
            try """
                [storage]
                driver = "vfs"
                runroot = "\(d)/run"
                graphroot = "\(d)/storage"
                """.write(toFile: d + "/storage.conf", atomically: false, encoding: .utf8)
            // podman's default network (`podman`), on a documentation range, its leases here.
            try """
                {"cniVersion": "0.4.0", "name": "podman", "plugins": [
                  {"type": "bridge", "bridge": "cni-podman0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
                   "ipam": {"type": "host-local", "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "\(d)/cni",
                            "ranges": [[{"subnet": "203.0.113.0/24", "gateway": "203.0.113.1"}]]}},
                  {"type": "portmap", "capabilities": {"portMappings": true}},
                  {"type": "firewall"}, {"type": "tuning"}]}
                """.write(toFile: d + "/net/87-podman.conflist", atomically: false, encoding: .utf8)
        }

        /// `podman ARGS` in the namespace that plays the host.
        func callAsFunction(_ arguments: [String], timeout: Double = 60) throws -> RunResult {
            try runTool(NetworkLab.nsenter, ["--net=/run/netns/" + lab.host, EngineTests.podmanBinary] + global + arguments,
                        scratch: directory + "/podman", environment: environment, timeout: timeout)
        }

        /// The same command line for a shell (`script` runs it on a terminal).
        func shellCommand(_ arguments: [String]) -> String {
            let words = ["/usr/bin/env"] + environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                + [NetworkLab.nsenter, "--net=/run/netns/" + lab.host, EngineTests.podmanBinary] + global + arguments
            return words.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        }

        /// What podman leaves that is podman's, not the runtime's: its conmon cgroups, in every
        /// hierarchy (blkio too, which contain does not use).
        func removeConmonCgroups() {
            let roots = ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? []).map { "/sys/fs/cgroup/" + $0 }
            for root in roots + ["/sys/fs/cgroup"] {
                rmdir(root + cgroupParent + "/conmon")
                if !Harness.cgroupRoots.contains(root) {
                    rmdir(root + cgroupParent)
                    rmdir(root + "/contain-test")
                }
            }
        }

        /// contain-oci's records (in its default root, shared) of containers under this test's cgroup parent.
        func runtimeRecords() -> [String] {
            let root = "/run/contain-oci/containers"
            return ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { record in
                ((try? String(contentsOfFile: root + "/" + record + "/cgroups", encoding: .utf8)) ?? "").contains(lab.sandbox.cgroupParent + "/")
            }
        }
    }

    @Test func podmanRunsItsContainersWithContain() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.podmanBinary), "podman is a test dependency (Scripts/install-deps.sh)")
        let lab = try NetworkLab()
        let podman = try Podman(lab)
        defer { _ = try? podman(["rm", "-f", "-t", "0", "--all"]) }
        let placed = ["--cgroup-parent", podman.cgroupParent, "--rootfs", podman.rootfs]

        // Foreground, no network: output, and the container's exit status is podman's.
        let hello = try podman(["run", "--rm", "--network", "none"] + placed + ["sh", "-c", "echo hello from $(hostname); exit 3"])
        #expect(hello.status == 3 && hello.stdout.hasPrefix("hello from "), "\(hello)")
        let missing = try podman(["run", "--rm", "--network", "none"] + placed + ["no-such-command"])
        #expect(missing.status == 127, "\(missing)")

        // Detached on podman's default bridge network, published, limited and hardened; reached
        // from the upstream namespace through the host's published port.
        let web = try podman(["run", "-d", "--name", "web", "-p", "8080:80", "--memory", "64m", "--pids-limit", "50",
                              "--cap-drop", "NET_RAW", "--read-only"] + placed + ["httpd", "-f", "-p", "80", "-h", "/www"])
        #expect(web.status == 0, "\(web)")
        var page = ""
        #expect(eventually(timeout: 15) {
            page = (try? lab.fetch("http://\(NetworkLab.hostAddress):8080/", from: lab.upstream))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "no fetch"
            return page == "hello from podman"
        }, "\(page)")
        #expect(try podman(["ps", "--format", "{{.Names}} {{.Status}}"]).stdout.contains("web Up"))
        let inside = try podman(["exec", "web", "sh", "-c", "grep CapBnd /proc/self/status; ip -4 addr show eth0; touch /x"])
        // podman's default capabilities without NET_RAW (bit 13); its bridge's address; a read-only root.
        #expect(inside.status == 1 && inside.stdout.contains("CapBnd:\t00000000a80405fb") && inside.stdout.contains("inet 203.0.113.")
                && inside.stderr.contains("Read-only file system"), "\(inside)")
        #expect(try podman(["exec", "web", "sh", "-c", "exit 4"]).status == 4)
        // podman's own /etc/hosts (bound by its config.json, not contain's); its cgroup mount
        // shows the container's own cgroup with its limit.
        // podman's rlimits (this test's containers.conf) are the process's.
        let views = try podman(["exec", "web", "sh", "-c",
                                "ulimit -n; ulimit -u; grep -c host.containers.internal /etc/hosts; cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null"])
        #expect(views.stdout.hasPrefix("1024\n4096\n1\n") && views.stdout.contains("67108864"), "\(views)")
        let pid = try podman(["inspect", "web", "--format", "{{.State.Pid}}"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Self.cgroupValue(pid: pid, v1: "memory", "memory.limit_in_bytes", v2: "memory.max") == "67108864")
        #expect(Self.cgroupValue(pid: pid, v1: "pids", "pids.max", v2: "pids.max") == "50")

        // logs, stop (its TERM trap runs), kill -s, rm; the statuses podman shows.
        let talker = try podman(["run", "-d", "--name", "talker", "--network", "none"] + placed
                                + ["sh", "-c", "echo one; trap 'echo bye; exit 0' TERM; while :; do sleep 0.2; done"])
        #expect(talker.status == 0, "\(talker)")
        #expect(eventually(timeout: 10) { (try? podman(["logs", "talker"]))?.stdout == "one\n" })
        #expect(try podman(["stop", "-t", "10", "talker"]).status == 0)
        #expect(try podman(["logs", "talker"]).stdout == "one\nbye\n")
        #expect(try podman(["kill", "-s", "KILL", "web"]).status == 0)
        let listed = try podman(["ps", "-a", "--format", "{{.Names}} {{.Status}}"]).stdout
        #expect(listed.contains("talker Exited (0)") && listed.contains("web Exited (137)"), "\(listed)")
        #expect(try podman(["rm", "web", "talker"]).status == 0)

        // A terminal: the pty's master goes to conmon through the console socket.
        let terminal = try runTool("/usr/bin/script", ["-qec", podman.shellCommand(["run", "--rm", "-it", "--network", "none"] + placed
                                                                                     + ["sh", "-c", "sleep 0.2; tty; sleep 0.2; exit 6"]), "/dev/null"],
                                   output: podman.directory + "/script.out")
        #expect(terminal.status == 6 && terminal.output.contains("/dev/pts/0"), "\(terminal)")

        #expect(podman.runtimeRecords() == [])
        podman.removeConmonCgroups()
        lab.sandbox.expectClean()
    }

    /// containerd on a private socket and root, its runc shim pointed at contain-oci (`ctr run
    /// --runc-binary`): a task's exit status, detached tasks, exec, ps, kill, delete.
    @Test func containerdRunsItsTasksWithContain() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.containerdBinary), "containerd is a test dependency (Scripts/install-deps.sh)")
        let lab = try NetworkLab()
        let d = lab.sandbox.stateRoot + "/containerd"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        let rootfs = try Self.rootfs(in: d)
        let socket = d + "/containerd.sock"
        try """
            version = 2
            root = "\(d)/root"
            state = "\(d)/state"
            disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                                "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
                                "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
            [grpc]
              address = "\(socket)"
            [ttrpc]
              address = "\(socket).ttrpc"
            [plugins."io.containerd.monitor.v1.cgroups"]
              no_prometheus = true
            """.write(toFile: d + "/config.toml", atomically: false, encoding: .utf8)
        let daemon = try Running(arguments: ["--net=/run/netns/" + lab.host, Self.containerdBinary, "--config", d + "/config.toml"],
                                 stdin: nil, executable: NetworkLab.nsenter)
        defer {
            daemon.process.terminate()
            _ = try? daemon.wait(timeout: 30)
        }
        #expect(eventually(timeout: 30) { FileManager.default.fileExists(atPath: socket) }, "containerd did not start")
        func ctr(_ arguments: [String]) throws -> RunResult {
            try runTool(Self.ctrBinary, ["--address", socket] + arguments, scratch: d + "/ctr")
        }
        func placed(_ id: String) -> [String] {
            ["--runc-binary", OCIRuntimeTests.binary, "--runc-root", d + "/oci", "--cgroup", "/" + lab.sandbox.cgroupParent + "/" + id,
             "--rootfs", rootfs, id]
        }

        let hello = try ctr(["run", "--rm"] + placed("t1") + ["sh", "-c", "echo hello from the task; exit 3"])
        #expect(hello.status == 3 && hello.stdout == "hello from the task\n", "\(hello)")

        let started = try ctr(["run", "-d"] + placed("t2") + ["sh", "-c", "trap 'exit 9' TERM; while :; do sleep 0.2; done"])
        #expect(started.status == 0, "\(started)")
        let tasks = try ctr(["task", "ls"]).stdout
        let pid = tasks.split(separator: "\n").first { $0.hasPrefix("t2 ") }?.split(separator: " ", omittingEmptySubsequences: true)[1]
        #expect(tasks.contains("RUNNING") && pid != nil, "\(tasks)")
        let exec = try ctr(["task", "exec", "--exec-id", "e1", "t2", "sh", "-c", "echo in the exec; exit 4"])
        #expect(exec.status == 4 && exec.stdout == "in the exec\n", "\(exec)")
        let ps = try ctr(["task", "ps", "t2"])
        #expect(ps.status == 0 && pid.map { ps.stdout.contains($0) } == true, "\(ps)")
        #expect(try ctr(["task", "kill", "-s", "TERM", "t2"]).status == 0)
        #expect(eventually(timeout: 10) { (try? ctr(["task", "ls"]))?.stdout.contains("STOPPED") == true })
        #expect(try ctr(["task", "delete", "t2"]).status == 0)
        #expect(try ctr(["container", "rm", "t2"]).status == 0)

        // Nothing left: no record, no cgroup, no shim.
        let records = (try? FileManager.default.contentsOfDirectory(atPath: d + "/oci/default/containers")) ?? []
        #expect(records.filter { !$0.hasPrefix(".") } == [])
        #expect(eventually(timeout: 10) {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).allSatisfy { entry in
                guard Int32(entry) != nil, let cmdline = try? String(contentsOfFile: "/proc/\(entry)/cmdline", encoding: .utf8) else { return true }
                return !(cmdline.contains("containerd-shim") && cmdline.contains(socket))
            }
        }, "a shim was left running")
        lab.sandbox.expectClean()
    }
}
