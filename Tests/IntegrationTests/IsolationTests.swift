import Foundation
import Testing

/// What a user checks first: the container is its own machine.
@Suite(.enabled(if: Harness.enabled)) struct IsolationTests {
    @Test func hostnameIsTheGivenName() throws {
        let box = try Sandbox()
        let r = try box.run(["--hostname", "sandbox"], ["hostname"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == "sandbox\n")
        #expect(r.progress.contains("[contain] setting hostname: sandbox"))
        box.expectClean()
    }

    @Test func hostnameDefaultsToTheShortId() throws {
        let box = try Sandbox()
        let r = try box.run([], ["hostname"])
        let name = r.stdout.trimmingCharacters(in: .newlines)
        #expect(name.count == 12 && name.allSatisfy(\.isHexDigit), "\(r)")
        #expect(name != ProcessInfo.processInfo.hostName)
    }

    @Test func commandIsPid1AndPsShowsOnlyTheContainer() throws {
        let box = try Sandbox()
        let r = try box.run(["-q"], ["/bin/sh", "-c", "echo pid=$$; ps -o pid,comm; true"])
        #expect(r.status == 0, "\(r)")
        let lines = r.stdout.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
        #expect(lines == ["pid=1", "PID COMMAND", "1 sh", "2 ps"], "\(r)")
        box.expectClean()
    }

    @Test func rootListingIsTheRootfsAndNothingOfTheHost() throws {
        let box = try Sandbox()
        let r = try box.run(["-q"], ["/bin/sh", "-c", "ls -a /; echo ---; ls -d \(Harness.packageRoot) 2>/dev/null || echo no-host-path; cat /proc/mounts"])
        #expect(r.status == 0, "\(r)")
        let parts = r.stdout.components(separatedBy: "---\n")
        let listing = parts[0].split(separator: "\n").map(String.init).sorted()
        let expected = (try FileManager.default.contentsOfDirectory(atPath: Harness.rootfs) + [".", ".."]).sorted()
        #expect(listing == expected)
        // No old root, no host mount: every mount is one of the container's own (the name
        // files are generated in its record and bound in, as docker does).
        let lines = parts[1].split(separator: "\n")
        #expect(lines.first == "no-host-path", "the host's files are not reachable")
        let mountPoints = lines.dropFirst().map { $0.split(separator: " ")[1] }
        // v1: one read-only mount of each hierarchy the container joined, under a tmpfs.
        let cgroupV1: [Substring] = Harness.isCgroupV2 ? [] : ["cpu", "cpuacct", "memory", "pids"].map { "/sys/fs/cgroup/" + $0 }
        #expect(Set(mountPoints).isSubset(of: ["/", "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup",
                                                 "/etc/hosts", "/etc/hostname", "/etc/resolv.conf"] + MaskedAndReadOnly.paths + cgroupV1),
                "\(mountPoints)")
    }

    @Test func devHasTheMinimalDevices() throws {
        let box = try Sandbox()
        let r = try box.run(["-q"], ["/bin/sh", "-c",
            "ls /dev | sort | tr '\\n' ' '; echo; echo x > /dev/null && head -c 4 /dev/zero | wc -c; " +
            "grep -c . /proc/self/mountinfo >/dev/null; grep ' /sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1"])
        #expect(r.status == 0, "\(r)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        let devices = Set(lines[0].split(separator: " ").map(String.init))
        #expect(devices.isSuperset(of: ["null", "zero", "full", "random", "urandom", "tty", "pts", "ptmx", "shm", "fd", "stdin", "stdout", "stderr"]), "\(devices)")
        #expect(lines[1].trimmingCharacters(in: .whitespaces) == "4")
        #expect(lines[2] == "ro", "/sys is mounted read-only")
    }

    @Test func hostMountTableIsUnchangedAndRootfsUntouched() throws {
        let box = try Sandbox()
        let mountsBefore = try mountTable()
        let rootfsBefore = try FileManager.default.subpathsOfDirectory(atPath: Harness.rootfs).sorted()
        let r = try box.run(["-q"], ["/bin/true"])
        #expect(r.status == 0, "\(r)")
        #expect(try mountTable() == mountsBefore)
        #expect(try FileManager.default.subpathsOfDirectory(atPath: Harness.rootfs).sorted() == rootfsBefore)
        box.expectClean()
    }

    @Test func netNoneHasOnlyLoopbackUp() throws {
        let box = try Sandbox()
        let r = try box.run(["-q", "--net", "none"], ["/bin/sh", "-c", "ls /sys/class/net; cat /sys/class/net/lo/operstate; ping -c1 -W1 127.0.0.1 >/dev/null && echo lo-ok"])
        #expect(r.stdout == "lo\nunknown\nlo-ok\n", "\(r)")
    }

    @Test func netHostSharesTheHostsInterfaces() throws {
        let box = try Sandbox()
        let r = try box.run(["-q", "--net", "host"], ["ls", "/sys/class/net"])
        let host = try FileManager.default.contentsOfDirectory(atPath: "/sys/class/net").sorted()
        #expect(r.stdout.split(separator: "\n").map(String.init).sorted() == host, "\(r)")
        #expect(!r.progress.joined().contains(" net "))
    }

    @Test func environmentIsCleanAndStdoutUntouched() throws {
        let box = try Sandbox()
        let r = try box.run(["--hostname", "envbox"], ["/bin/sh", "-c", "env | sort; head -c 3 - </dev/stdin"], stdin: "abcdef")
        #expect(r.status == 0, "\(r)")
        let env = r.stdout.split(separator: "\n").map(String.init)
        #expect(env.contains("HOSTNAME=envbox"))
        #expect(env.contains { $0.hasPrefix("PATH=/usr/local/sbin:") })
        #expect(!r.stdout.contains("CONTAIN_HOST_ONLY_SECRET"))
        #expect(r.stdout.hasSuffix("abc"))
        #expect(!r.stdout.contains("[contain]"))
        #expect(r.progress.count == r.stderr.split(separator: "\n").count, "every stderr line is a progress line")
        #expect(r.progress.first == "[contain] creating namespaces: pid uts mnt ipc net" + (FileManager.default.fileExists(atPath: "/proc/self/ns/cgroup") ? " cgroup" : ""))
        #expect(r.progress.contains("[contain] pivoting root"))
        #expect(r.progress.contains("[contain] container exited: exit status 0"))
        #expect(r.progress.last == "[contain] cleaning up cgroups")
    }

    @Test func quietPrintsNothing() throws {
        let box = try Sandbox()
        let r = try box.run(["--quiet", "--memory", "32M"], ["echo", "hi"])
        #expect(r.status == 0 && r.stdout == "hi\n" && r.stderr == "", "\(r)")
    }
}

/// docker's masked and read-only paths, which are mount points of their own (as under docker).
enum MaskedAndReadOnly {
    static let paths: [Substring] = [
        "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
    ]
}
