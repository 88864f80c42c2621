import Foundation
import Testing

/// cgroup limits, proven by what they do to real processes.
@Suite(.enabled(if: Harness.enabled)) struct LimitsTests {
    @Test func memoryLimitOOMKillsAndTheReportSaysSo() throws {
        let box = try Sandbox()
        let r = try box.run(["--memory", "16M"], ["payload", "alloc", "64"])
        #expect(r.status == 137, "\(r)")
        #expect(!r.stdout.contains("allocated"))
        #expect(r.progress.contains("[contain] applying cgroup limits: memory=16M"))
        #expect(r.progress.contains("[contain] container was OOM-killed (memory limit 16M)"), "\(r)")
        #expect(r.progress.contains { $0.hasPrefix("[contain] usage: memory peak ") && $0.hasSuffix("oom-killed") }, "\(r)")
        box.expectClean()
    }

    @Test func withinTheMemoryLimitNothingIsKilled() throws {
        let box = try Sandbox()
        let r = try box.run(["--memory", "64M"], ["payload", "alloc", "16"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == "allocated 16\n")
        #expect(!r.stderr.contains("OOM"))
        // The peak is what was touched: at least the 16M allocated.
        let peak = r.progress.first { $0.hasPrefix("[contain] usage: memory peak ") }
        #expect(peak.map { $0.contains("peak 16") || $0.contains("peak 17") || $0.contains("peak 18") || $0.contains("peak 19") } == true, "\(r)")
    }

    @Test func pidsLimitMakesAForkLoopFail() throws {
        let box = try Sandbox()
        let limited = try box.run(["--pids", "8"], ["payload", "fork", "20"])
        #expect(limited.status == 0, "\(limited)")
        #expect(limited.stdout == "forked 7\n", "8 pids: the payload and 7 children")
        #expect(limited.progress.contains { $0.contains("pids peak 8") }, "\(limited)")
        let unlimited = try box.run(["-q"], ["payload", "fork", "20"])
        #expect(unlimited.stdout == "forked 20\n")
        box.expectClean()
    }

    @Test func pidsLimitStopsAShellForkLoop() throws {
        let box = try Sandbox()
        let r = try box.run(["-q", "--pids", "8"], ["/bin/sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 5 & done; wait"])
        #expect(r.status != 0, "\(r)")
        #expect(r.stderr.contains("can't fork") || r.stderr.contains("Resource temporarily unavailable"), "\(r)")
    }

    @Test func cpuQuotaThrottlesABusyLoop() throws {
        let box = try Sandbox()
        let r = try box.run(["--cpu", "20000"], ["payload", "spin", "1"])
        #expect(r.status == 0, "\(r)")
        #expect(r.progress.contains("[contain] applying cgroup limits: cpu=20000/100000"))
        // 20% of a CPU for one second of wall time: about 0.2 s of CPU, never close to 1 s.
        let used = Double(r.stdout.split(separator: " ").last?.trimmingCharacters(in: .newlines) ?? "") ?? 9
        #expect(used < 0.45, "\(r)")
        // The cgroup's own statistics, read before it was removed, show the throttling.
        let line = try #require(r.progress.first { $0.hasPrefix("[contain] usage:") })
        #expect(line.contains("throttled "), "\(line)")
        box.expectClean()
    }

    /// `--cpus 0.25` is `--cpu 25000`, proven by what the kernel holds and accounted for the
    /// container's cgroup while a busy loop ran in it: the quota (`cpu.max`, or v1's
    /// `cpu.cfs_quota_us` and `cpu.cfs_period_us`) and the periods in which it throttled the
    /// loop (`cpu.stat`). Not a wall-clock share of the loop: a loaded or emulated machine (the
    /// cgroup v2 VM measured 0.32 s of CPU in 0.5 s against a bound of 0.3) stretches wall time,
    /// but the kernel throttles only a cgroup that has a quota, so without the limit
    /// nr_throttled stays 0 and this fails. Read from the host, the same way in both layouts
    /// (in v1 the container has no cgroup mounted): the loop ends, prints its CPU time, and
    /// waits for the test to have read the counters before the container ends and contain
    /// removes its cgroup.
    @Test(.timeLimit(.minutes(5))) func cpusIsTheDockerSpelling() throws {
        let box = try Sandbox()
        let gate = box.stateRoot + "/gate"
        try FileManager.default.createDirectory(atPath: gate, withIntermediateDirectories: true)
        let spin = 1.0 * Harness.timeScale  // ten 100 ms periods and more, each wanting 4 times its quota
        let polls = Int(120 * Harness.timeScale / 0.05)  // the container gives up waiting after 2 minutes
        let running = try box.start(["run", "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent]
            + box.commonArguments + ["--cpus", "0.25", "-v", gate + ":/gate", "--", "/bin/sh", "-c",
               "payload spin \(spin); i=0; while [ ! -e /gate/done ] && [ $i -lt \(polls) ]; do sleep 0.05; i=$((i+1)); done"])
        let spun = running.waitForOutput("cpu ", timeout: 60)
        func read(_ path: String) -> String {
            ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let cpuDirectory = box.cgroupChildren().first { Harness.isCgroupV2 || $0.hasPrefix("/sys/fs/cgroup/cpu/") }
        let quota = cpuDirectory.map { dir in
            Harness.isCgroupV2 ? read(dir + "/cpu.max") : read(dir + "/cpu.cfs_quota_us") + " " + read(dir + "/cpu.cfs_period_us")
        }
        var stat: [String: Int] = [:]
        for line in cpuDirectory.map({ read($0 + "/cpu.stat") })?.split(separator: "\n") ?? [] {
            let fields = line.split(separator: " ")
            if fields.count == 2, let value = Int(fields[1]) { stat[String(fields[0])] = value }
        }
        FileManager.default.createFile(atPath: gate + "/done", contents: nil)
        let r = try running.wait()

        #expect(spun, "the busy loop ended: \(r)")
        #expect(r.status == 0, "\(r)")
        #expect(r.progress.contains("[contain] applying cgroup limits: cpu=25000/100000"), "\(r)")
        #expect(cpuDirectory != nil, "the container's cpu cgroup under \(box.cgroupParent)")
        #expect(quota == "25000 100000", "the quota the kernel holds")
        // throttled_usec on v2, throttled_time (ns) on v1.
        let throttledTime = stat["throttled_usec"] ?? stat["throttled_time"] ?? 0
        #expect((stat["nr_throttled"] ?? 0) > 0 && throttledTime > 0, "the kernel throttled the loop: cpu.stat \(stat)")
        box.expectClean()
    }

    @Test func limitsAreWrittenToTheCgroupTheCommandRunsIn() throws {
        let box = try Sandbox()
        let read = Harness.isCgroupV2
            ? "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max /sys/fs/cgroup/pids.max"
            : "cat /proc/self/cgroup"
        let r = try box.run(["-q", "--memory", "48M", "--cpu", "30000", "--pids", "20"], ["/bin/sh", "-c", read])
        #expect(r.status == 0, "\(r)")
        if Harness.isCgroupV2 {
            #expect(r.stdout == "50331648\n30000 100000\n20\n")
        } else {
            // The cgroup namespace roots the container at its own cgroup in every hierarchy.
            for line in r.stdout.split(separator: "\n") where line.contains("memory") || line.contains("pids") {
                #expect(line.hasSuffix(":/"), "\(line)")
            }
        }
    }
}
