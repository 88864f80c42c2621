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

    @Test func cpusIsTheDockerSpelling() throws {
        let box = try Sandbox()
        let r = try box.run(["--cpus", "0.25"], ["payload", "spin", "0.5"])
        #expect(r.progress.contains("[contain] applying cgroup limits: cpu=25000/100000"), "\(r)")
        let used = Double(r.stdout.split(separator: " ").last?.trimmingCharacters(in: .newlines) ?? "") ?? 9
        #expect(used < 0.3, "\(r)")
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
