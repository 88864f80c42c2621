import Foundation
import Testing

/// `net impair` measured (#14): what a loss or a rate does to real traffic between two
/// containers on the default bridge, and that `--clear` gives the link back.
@Suite(.enabled(if: Harness.enabled)) struct NetworkLabMeasurementTests {
    /// The cgroup v2 VM's kernel has netem (it loads sch_netem at boot); this machine's has not.
    static let kernelHasNetem = FileManager.default.fileExists(atPath: "/sys/module/sch_netem")

    /// A container's command that does nothing until SIGTERM.
    static let idle = ["sh", "-c", "trap 'exit 0' TERM; echo ready; while :; do sleep 1 & wait $!; done"]

    /// SIGTERM to the containers still running, and their ends waited for (a process already
    /// reaped is not signalled: its pid may be another's by now).
    static func stop(_ containers: [Running]) {
        for running in containers where running.process.isRunning {
            running.signal(SIGTERM)
            _ = try? running.wait()
        }
    }

    /// (transmitted, received) from busybox ping's summary,
    /// "300 packets transmitted, 212 packets received, 29% packet loss".
    static func pingCounts(_ output: String) -> (transmitted: Int, received: Int)? {
        guard let line = output.split(separator: "\n").first(where: { $0.contains("packets transmitted") }) else { return nil }
        let words = line.split(whereSeparator: { $0 == " " || $0 == "," })
        guard let t = words.firstIndex(of: "transmitted"), let r = words.firstIndex(of: "received"), t >= 2, r >= 2,
              let transmitted = Int(words[t - 2]), let received = Int(words[r - 2]) else { return nil }
        return (transmitted, received)
    }

    /// `--loss 30%` on a's egress loses 30% (±10 points) of 300 pings to b; `--clear` brings it
    /// back to (almost) none. Where the kernel has no netem (this machine) the loss is refused
    /// with nothing set, and that is all that can be checked here; where it has netem (the VM),
    /// the loss must be set and measured, so a netem that drops nothing fails this test.
    @Test func lossDropsItsShareOfPingsAndClearRestoresThem() throws {
        let lab = try NetworkLab()
        let a = try lab.startRun(["--net", "bridge", "--name", "a"], Self.idle)
        let b = try lab.startRun(["--net", "bridge", "--name", "b"], Self.idle)
        #expect(a.waitForOutput("ready") && b.waitForOutput("ready"), "\(a.stdoutSoFar) \(b.stdoutSoFar)")
        defer { Self.stop([a, b]) }  // a failed #require's way out too
        // b by its address: a name looked up over the lossy link (its query lost 30% of the
        // time) once failed the ping before it began ("bad address").
        let address = try lab.contain(["exec", "b", "--", "hostname", "-i"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(address.split(separator: ".").count == 4, "b's address: \(address)")
        /// Pings from a to b, every 40 ms: (transmitted, received).
        func ping(_ count: Int) throws -> (transmitted: Int, received: Int) {
            // -W 2: with nothing received ping would wait 10 s for the last reply; once something
            // came back it waits twice the longest round trip (at least a second) anyway.
            let r = try lab.contain(["exec", "a", "--", "ping", "-c", "\(count)", "-i", "0.04", "-W", "2", "-q", address], timeout: 60)
            let counts = try #require(Self.pingCounts(r.stdout), "\(r)")
            #expect(counts.transmitted == count, "\(r)")
            return counts
        }
        /// The loss set: measured, then cleared and measured again.
        func measure() throws {
            let shown = try lab.contain(["net", "impair", "a"])
            #expect(shown.stdout.contains("loss 30%"), "\(shown)")

            let lossy = try ping(300)
            let lost = Double(lossy.transmitted - lossy.received) / Double(max(lossy.transmitted, 1))
            #expect(abs(lost - 0.30) <= 0.10, "30% loss set, \(lossy.transmitted - lossy.received) of \(lossy.transmitted) lost")
            print("loss 30%: \(lossy.transmitted - lossy.received) of \(lossy.transmitted) pings lost")

            #expect(try lab.contain(["net", "impair", "a", "--clear"]).status == 0)
            let cleared = try lab.contain(["net", "impair", "a"])
            #expect(cleared.status == 0 && !cleared.stdout.contains("loss"), "\(cleared)")
            let clean = try ping(100)
            #expect(clean.transmitted - clean.received <= 3, "cleared, still \(clean.transmitted - clean.received) of 100 lost")
            print("cleared: \(clean.transmitted - clean.received) of \(clean.transmitted) pings lost")
        }
        // Both neighbour entries resolved before the loss: a resolution under it (each ARP
        // request lost 30% of the time) would hold pings back, or drop them after three misses,
        // and the count is meant to be of pings. (An entry that goes stale meanwhile still
        // sends while it is probed.)
        let warm = try ping(3)
        #expect(warm.received == 3, "warm-up: \(warm)")

        let impaired = try lab.contain(["net", "impair", "a", "--loss", "30%"])
        if Self.kernelHasNetem {
            try #require(impaired.status == 0, "the kernel has netem: \(impaired)")
            try measure()
        } else {
            #expect(impaired.status == 125 && impaired.stderr.contains("this kernel has no netem"), "\(impaired)")
            let shown = try lab.contain(["net", "impair", "a"])
            #expect(shown.status == 0 && !shown.stdout.contains("loss"), "nothing set: \(shown)")
        }
        Self.stop([a, b])
        try lab.expectClean()
    }

    /// `--rate 5mbit` (tbf, on every kernel) holds a TCP stream from a to b to 5 Mbit/s ±20%, as
    /// iperf3's receiver counts it; `--clear` lets it run far faster.
    @Test func rateHoldsIperfToItAndClearLiftsIt() throws {
        let lab = try NetworkLab()
        let rootfs = try IperfRootfs()
        defer { rootfs.remove() }
        let b = try lab.startRun(rootfs: rootfs.path, ["--net", "bridge", "--name", "b"], ["iperf3", "-s", "--forceflush"])
        let a = try lab.startRun(rootfs: rootfs.path, ["--net", "bridge", "--name", "a"], Self.idle)
        #expect(b.waitForOutput("Server listening") && a.waitForOutput("ready"), "\(b.stdoutSoFar) \(a.stdoutSoFar)")
        defer { Self.stop([a, b]) }  // a failed #require's way out too
        /// What b received from a in `seconds` of iperf3, in bits per second.
        func received(seconds: Int) throws -> Double {
            var r = try lab.contain(["exec", "a", "--", "iperf3", "-c", "b", "-t", "\(seconds)", "-J"], timeout: 60)
            // The server takes a moment after one test before it takes the next ("the server is
            // busy running a test"): asked again, a few times, as iperf3's own docs suggest.
            for _ in 0..<20 where r.stdout.contains("the server is busy") {
                usleep(500_000)
                r = try lab.contain(["exec", "a", "--", "iperf3", "-c", "b", "-t", "\(seconds)", "-J"], timeout: 60)
            }
            let json = try #require(try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r)")
            let end = json["end"] as? [String: Any], sum = end?["sum_received"] as? [String: Any]
            return try #require(sum?["bits_per_second"] as? Double, "\(r)")
        }

        #expect(try lab.contain(["net", "impair", "a", "--rate", "5mbit"]).status == 0)
        let shown = try lab.contain(["net", "impair", "a"])
        #expect(shown.stdout.contains("rate 5mbit"), "\(shown)")
        let limited = try received(seconds: 4)
        #expect(abs(limited - 5_000_000) <= 1_000_000, "5mbit set, iperf3 received \(limited) bit/s")
        print("rate 5mbit: iperf3 received \(Int(limited)) bit/s")

        #expect(try lab.contain(["net", "impair", "a", "--clear"]).status == 0)
        let cleared = try lab.contain(["net", "impair", "a"])
        #expect(cleared.status == 0 && !cleared.stdout.contains("rate"), "\(cleared)")
        let free = try received(seconds: 2)
        #expect(free > 20_000_000, "cleared, iperf3 received only \(free) bit/s")
        print("cleared: iperf3 received \(Int(free)) bit/s")
        Self.stop([a, b])
        try lab.expectClean()
    }
}

/// A copy of the test rootfs with the host's iperf3 and the libraries it loads (as
/// Scripts/bench.sh makes one), under /run: tmpfs in the VM too, where /tmp is an overlay.
private struct IperfRootfs {
    static let iperf3 = "/usr/bin/iperf3"
    let path: String

    init() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.iperf3), "iperf3 at \(Self.iperf3) (Debian's iperf3)")
        path = "/run/contain-it-iperf-" + String(UInt64.random(in: 0..<UInt64.max), radix: 16)
        let log = path + ".log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let copied = try runTool("/bin/cp", ["-a", Harness.rootfs, path], output: log)
        try #require(copied.status == 0, "cp -a \(Harness.rootfs): \(copied.output)")
        let ldd = try runTool("/usr/bin/ldd", [Self.iperf3], output: log)
        try #require(ldd.status == 0, "ldd: \(ldd.output)")
        // "libiperf.so.0 => /lib/x86_64-linux-gnu/libiperf.so.0 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)".
        let libraries = ldd.output.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if let arrow = words.firstIndex(of: "=>"), arrow + 1 < words.count, words[arrow + 1].hasPrefix("/") { return words[arrow + 1] }
            return words.first.flatMap { $0.hasPrefix("/") ? $0 : nil }
        }
        try #require(libraries.contains { $0.contains("libc.so") }, "ldd: \(ldd.output)")
        for file in [Self.iperf3] + libraries {
            let target = path + file
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let r = try runTool("/bin/cp", ["-L", file, target], output: log)
            try #require(r.status == 0, "cp \(file): \(r.output)")
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

private extension NetworkLab {
    /// `contain run` as `startRun`, on another rootfs.
    func startRun(rootfs: String, _ options: [String], _ command: [String]) throws -> Running {
        try start(["run", "--rootfs", rootfs, "--cgroup-parent", sandbox.cgroupParent] + options + ["--"] + command)
    }
}
