import Foundation
import Testing

/// docker's `run` flags beyond the basics: the rest of the resource limits, namespaced sysctls,
/// /dev/shm, the OOM score, groups and HOME, --entrypoint, and sharing the host's PID, IPC and
/// UTS namespaces. Each checked by what a user would look at.
@Suite(.enabled(if: Harness.enabled)) struct RunFlagsTests {
    /// A control file of the container `id`'s cgroup, on either layout.
    func cgroupFile(_ box: Sandbox, id: String, v1 controller: String, _ file: String) -> String {
        let root = Harness.isCgroupV2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/" + controller
        return "\(root)/\(box.cgroupParent)/\(id)/\(file)"
    }

    @Test func memoryCpuSharesAndCpusetLimitsReachTheCgroup() throws {
        let box = try Sandbox()
        let started = try box.contain(["run", "-d", "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent] + box.commonArguments
                                      + ["--memory", "64m", "--memory-reservation", "32m", "--memory-swap", "-1", "--cpu-shares", "512",
                                         "--cpuset-cpus", "0", "--", "sleep", "60"])
        #expect(started.status == 0, "\(started)")
        let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? box.contain(["rm", "-f", id] + box.commonArguments) }
        func read(_ controller: String, _ file: String) -> String {
            ((try? String(contentsOfFile: cgroupFile(box, id: id, v1: controller, file), encoding: .utf8)) ?? "missing")
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if Harness.isCgroupV2 {
            #expect(read("", "memory.low") == "33554432")
            #expect(read("", "memory.swap.max") == "max")
            #expect(read("", "cpu.weight") == "20")
            #expect(read("", "cpuset.cpus") == "0")
        } else {
            #expect(read("memory", "memory.soft_limit_in_bytes") == "33554432")
            #expect(read("cpu", "cpu.shares") == "512")
            #expect(read("cpuset", "cpuset.cpus") == "0")
            // The freezer hierarchy is joined too (contain pause).
            #expect(read("freezer", "freezer.state") == "THAWED")
        }
        // The kernel agrees: the container's processes may run on CPU 0 only.
        let status = try box.contain(["exec", id] + box.commonArguments + ["--", "grep", "Cpus_allowed_list", "/proc/self/status"])
        #expect(status.stdout.hasSuffix("\t0\n"), "\(status)")
        let bad = try box.run(["--memory-swap", "1g"], ["true"])
        #expect(bad.status == 125 && bad.errors == ["[contain] error: --memory-swap needs --memory: it is the total of memory and swap"], "\(bad)")
        let removed = try box.contain(["rm", "-f", id] + box.commonArguments)
        #expect(removed.status == 0, "\(removed)")
        box.expectClean()
    }

    @Test func namespacedSysctlsAreSetInsideAndNeverOnTheHost() throws {
        let box = try Sandbox()
        let hostForward = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8)
        let hostShm = try String(contentsOfFile: "/proc/sys/kernel/shmmni", encoding: .utf8)
        let r = try box.run(["-q", "--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shmmni=1234"], ["sh", "-c", """
            cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni /proc/sys/net/ipv4/ip_unprivileged_port_start
            cat /proc/sys/net/ipv4/ping_group_range
            """])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == "1\n1234\n0\n0\t2147483647\n", "\(r)")
        #expect(try String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8) == hostForward)
        #expect(try String(contentsOfFile: "/proc/sys/kernel/shmmni", encoding: .utf8) == hostShm)
        // Not namespaced, or the namespace is the host's: refused before anything is made.
        let global = try box.run(["--sysctl", "vm.swappiness=1"], ["true"])
        #expect(global.status == 125 && global.errors.first?.contains("not a namespaced kernel parameter") == true, "\(global)")
        let shared = try box.run(["--net", "host", "--sysctl", "net.ipv4.ip_forward=1"], ["true"])
        #expect(shared.status == 125 && shared.errors.first?.contains("--net host") == true, "\(shared)")
        let ipcHost = try box.run(["--ipc", "host", "--sysctl", "kernel.shmmni=1"], ["true"])
        #expect(ipcHost.status == 125, "\(ipcHost)")
        box.expectClean()
    }

    @Test func shmSizeOomScoreEntrypointAndGroups() throws {
        let box = try Sandbox()
        let r = try box.run(["-q", "--shm-size", "8m", "--oom-score-adj", "500", "--group-add", "tty", "--group-add", "4000",
                             "--entrypoint", "/bin/sh"], ["-c", """
            grep ' /dev/shm ' /proc/mounts | grep -o 'size=[0-9]*k'
            cat /proc/self/oom_score_adj
            id -G
            echo "home=$HOME"
            """])
        #expect(r.status == 0, "\(r)")
        // root's groups come from the container's /etc/group (none beyond 0 here) plus
        // --group-add; none of the host's supplementary groups.
        #expect(r.stdout == "size=8192k\n500\n0 5 4000\nhome=/root\n", "\(r)")
        let nobody = try box.run(["-q", "-u", "nobody"], ["sh", "-c", "id -u; id -g; id -G; echo \"home=$HOME\""])
        #expect(nobody.stdout == "65534\n65534\n65534\nhome=/nonexistent\n", "\(nobody)")
        // An unknown numeric user runs with group 0 and HOME=/, as in docker.
        let numeric = try box.run(["-q", "-u", "4242"], ["sh", "-c", "id -u; id -g; echo \"home=$HOME\""])
        #expect(numeric.stdout == "4242\n0\nhome=/\n", "\(numeric)")
        let unknown = try box.run(["-u", "nosuchuser"], ["true"])
        #expect(unknown.status == 125 && unknown.errors == ["[contain] error: no such user \"nosuchuser\" in the container's /etc/passwd"], "\(unknown)")
        let badScore = try box.run(["--oom-score-adj", "1001"], ["true"])
        #expect(badScore.status == 125, "\(badScore)")
        box.expectClean()
    }

    @Test func hostPidIpcAndUtsNamespacesAreSharedOnlyWhenAsked() throws {
        let box = try Sandbox()
        func link(_ path: String) -> String { (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?" }
        let hostName = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? ""
        let own = try box.run(["-q"], ["sh", "-c", "echo $$; readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts"])
        let ownLines = own.stdout.split(separator: "\n").map(String.init)
        #expect(ownLines.count == 3 && ownLines[0] == "1", "\(own)")
        #expect(ownLines.count == 3 && ownLines[1] != link("/proc/self/ns/ipc") && ownLines[2] != link("/proc/self/ns/uts"), "\(own)")
        let shared = try box.run(["-q", "--pid", "host", "--ipc", "host", "--uts", "host"],
                                 ["sh", "-c", "echo $$; readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts; hostname"])
        #expect(shared.status == 0, "\(shared)")
        let lines = shared.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(shared)")
        if lines.count == 4 {
            #expect(lines[0] != "1")
            #expect(lines[1] == link("/proc/self/ns/ipc"))
            #expect(lines[2] == link("/proc/self/ns/uts"))
            #expect(lines[3].hasPrefix(hostName), "\(lines[3]) vs \(hostName)")
        }
        // The host's name is untouched, and --hostname cannot be combined with it.
        #expect(ProcessInfo.processInfo.hostName.hasPrefix(hostName))
        let conflict = try box.run(["--uts", "host", "--hostname", "x"], ["true"])
        #expect(conflict.status == 125, "\(conflict)")
        box.expectClean()
    }

    @Test func namedVolumesOutliveContainersAndMountTakesDockersLongForm() throws {
        let box = try Sandbox()
        let write = try box.run(["-q", "-v", "data:/data"], ["sh", "-c", "echo kept > /data/f"])
        #expect(write.status == 0, "\(write)")
        #expect(FileManager.default.fileExists(atPath: box.stateRoot + "/volumes/data/_data/f"))
        let read = try box.run(["-q", "--mount", "type=volume,source=data,target=/v,readonly",
                                "--mount", "type=tmpfs,target=/scratch,tmpfs-size=1m"],
                               ["sh", "-c", "cat /v/f; touch /v/x 2>/dev/null || echo ro; grep ' /scratch ' /proc/mounts | grep -o 'size=[0-9]*k'"])
        #expect(read.stdout == "kept\nro\nsize=1024k\n", "\(read)")
        let listed = try box.contain(["volume", "ls", "-q"] + box.commonArguments)
        #expect(listed.stdout == "data\n", "\(listed)")
        // In use by a container (kept by -d), so not removed; then removed once it is gone.
        let started = try box.contain(["run", "-d", "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent] + box.commonArguments
                                      + ["-v", "data:/data", "--", "sleep", "60"])
        let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let refused = try box.contain(["volume", "rm", "data"] + box.commonArguments)
        #expect(refused.status == 1 && refused.errors.first?.contains("in use by container \(id.prefix(12))") == true, "\(refused)")
        _ = try box.contain(["rm", "-f", id] + box.commonArguments)
        let removed = try box.contain(["volume", "rm", "data"] + box.commonArguments)
        #expect(removed.status == 0 && !FileManager.default.fileExists(atPath: box.stateRoot + "/volumes/data"), "\(removed)")
        let missing = try box.contain(["volume", "rm", "data"] + box.commonArguments)
        #expect(missing.status == 1, "\(missing)")
        // -v makes a missing host directory, as docker does; --mount type=bind refuses it.
        let hostDir = box.stateRoot + "/made/by/v"
        let made = try box.run(["-q", "-v", hostDir + ":/m"], ["sh", "-c", "echo hi > /m/f"])
        #expect(made.status == 0 && FileManager.default.fileExists(atPath: hostDir + "/f"), "\(made)")
        let strict = try box.run(["--mount", "type=bind,source=\(box.stateRoot)/absent,target=/m"], ["true"])
        #expect(strict.status == 125 && !FileManager.default.fileExists(atPath: box.stateRoot + "/absent"), "\(strict)")
        box.expectClean()
    }

    /// As docker with a private cgroup namespace: the container finds its own limits where tools
    /// look (v1: one read-only mount per hierarchy it joined; v2: the cgroup2 root).
    @Test func theContainerSeesItsOwnCgroupsReadOnly() throws {
        let box = try Sandbox()
        let file = Harness.isCgroupV2 ? "/sys/fs/cgroup/memory.max" : "/sys/fs/cgroup/memory/memory.limit_in_bytes"
        let r = try box.run(["-q", "--memory", "64m", "--pids", "50"], ["sh", "-c", """
            cat \(file)
            cat /sys/fs/cgroup/\(Harness.isCgroupV2 ? "" : "pids/")pids.max
            mkdir /sys/fs/cgroup/escape 2>/dev/null || echo read-only
            """])
        #expect(r.stdout == "67108864\n50\nread-only\n", "\(r)")
        box.expectClean()
    }
}
