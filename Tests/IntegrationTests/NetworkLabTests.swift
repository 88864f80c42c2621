import Foundation
import Testing

/// The network lab (live counters now; impairment and capture to come), end to end in
/// throwaway namespaces.
@Suite(.enabled(if: Harness.enabled)) struct NetworkLabTests {
    /// The `net top --json` row of `container`, as [key: value].
    static func row(_ output: String, _ container: String) -> [String: Any]? {
        guard let data = output.data(using: .utf8), let rows = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else { return nil }
        return rows.first { $0["container"] as? String == container }
    }

    /// `net top` shows a receiver's rate while a stream runs, and zero once it stops.
    @Test func netTopShowsLiveRates() throws {
        let lab = try NetworkLab()
        let sink = try lab.startRun(["--net", "bridge", "--name", "sink"], ["sh", "-c", """
            trap 'exit 0' TERM; echo ready
            while :; do nc -l -p 9000 -e sh -c 'cat > /dev/null' & wait $!; done
            """])
        #expect(sink.waitForOutput("ready"), "\(sink.stdoutSoFar)")
        // About 6 s of traffic, paced (64 KiB every 20 ms, some 25 Mbit/s). (The sink reads
        // with -e: busybox's nc -l alone closes the connection at the end of its own stdin.)
        let source = try lab.startRun(["--net", "bridge", "--name", "source", "-q"], ["sh", "-c", """
            sleep 0.5; i=0; while [ $i -lt 300 ]; do dd if=/dev/zero bs=65536 count=1 2>/dev/null; usleep 20000; i=$((i+1)); done | nc sink 9000
            echo "sent: $?"
            """])
        usleep(2_000_000)
        let during = try lab.contain(["net", "top", "--no-stream", "--json"])
        #expect(during.status == 0, "\(during)")
        let sinkRow = Self.row(during.stdout, "sink"), sourceRow = Self.row(during.stdout, "source")
        #expect((sinkRow?["rx_bits_per_second"] as? Int ?? 0) > 1_000_000, "\(during.stdout)")
        #expect((sourceRow?["tx_bits_per_second"] as? Int ?? 0) > 1_000_000, "\(during.stdout)")
        #expect(sinkRow?["interface"] as? String == "eth0" && sinkRow?["network"] as? String == "contain", "\(during.stdout)")
        let sent = try source.wait(timeout: 60)
        #expect(sent.stdout == "sent: 0\n", "\(sent)")
        // Quiet again (a neighbour probe or two aside); the table names the network's endpoints.
        let after = try lab.contain(["net", "top", "--no-stream", "--json", "contain"])
        #expect((Self.row(after.stdout, "sink")?["rx_bits_per_second"] as? Int ?? -1) < 100_000, "\(after.stdout)")
        let table = try lab.contain(["net", "top", "--no-stream"])
        #expect(table.stdout.hasPrefix("CONTAINER ") && table.stdout.contains("\nsink "), "\(table)")
        let missing = try lab.contain(["net", "top", "--no-stream", "nosuchnet"])
        #expect(missing.status != 0 && missing.stderr.contains("not found"), "\(missing)")
        sink.signal(SIGTERM)
        _ = try sink.wait()
        try lab.expectClean()
    }

    /// busybox ping's average round trip in ms (nil when it failed).
    static func averageRTT(_ output: String) -> Double? {
        guard let line = output.split(separator: "\n").first(where: { $0.contains("min/avg/max") }),
              let values = line.split(separator: "=").last?.split(separator: "/"), values.count >= 2 else { return nil }
        return Double(values[1].trimmingCharacters(in: .whitespaces))
    }

    /// `net impair`: a rate (tbf) on every kernel, held to within a loose bound; netem's delay
    /// measured where the kernel has netem (the cgroup v2 VM) and refused, with nothing set,
    /// where it does not (this machine); show, clear and bad input.
    @Test func impairSetsRatesEverywhereAndNetemWhereTheKernelHasIt() throws {
        let lab = try NetworkLab()
        let idle = ["sh", "-c", "trap 'exit 0' TERM; echo ready; while :; do nc -l -p 9000 -e sh -c 'cat > /dev/null' & wait $!; done"]
        let a = try lab.startRun(["--net", "bridge", "--name", "a"], idle)
        let b = try lab.startRun(["--net", "bridge", "--name", "b"], idle)
        #expect(a.waitForOutput("ready") && b.waitForOutput("ready"))
        func rtt() throws -> Double {
            let r = try lab.contain(["exec", "a", "--", "ping", "-c", "6", "-i", "0.2", "-q", "b"])
            return try #require(Self.averageRTT(r.stdout), "\(r)")
        }
        let baseline = try rtt()
        let delayed = try lab.contain(["net", "impair", "a", "--delay", "50ms"])
        // The VM loads sch_netem at boot: there the netem half must run, not the refusal.
        let kernelHasNetem = FileManager.default.fileExists(atPath: "/sys/module/sch_netem")
        #expect(delayed.status == 0 || !kernelHasNetem, "\(delayed)")
        if delayed.status == 0 {
            #expect(try lab.contain(["net", "impair", "a"]).stdout.contains("delay 50ms"))
            let one = try rtt()
            #expect(abs(one - baseline - 50) < 15, "baseline \(baseline) ms, with 50ms egress delay \(one) ms")
            #expect(try lab.contain(["net", "impair", "a", "--delay", "50ms", "--direction", "both"]).status == 0)
            let both = try rtt()
            #expect(abs(both - baseline - 100) < 15, "baseline \(baseline) ms, with 50ms both ways \(both) ms")
        } else {
            #expect(delayed.status == 125 && delayed.stderr.contains("this kernel has no netem"), "\(delayed)")
        }
        // A rate of 8 Mbit/s on what b receives: 2 MiB takes about 2 s (a burst goes at once).
        #expect(try lab.contain(["net", "impair", "b", "--rate", "8mbit", "--direction", "ingress"]).status == 0)
        let shown = try lab.contain(["net", "impair", "b"])
        #expect(shown.stdout.contains("rate 8mbit"), "\(shown)")
        // net inspect shows it per endpoint and direction, in its table and its JSON.
        func inspected(_ name: String) throws -> (egress: Any?, ingress: Any?) {
            let r = try lab.contain(["net", "inspect", "contain", "--json"])
            let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            let endpoint = (json?["endpoints"] as? [[String: Any]])?.first { $0["name"] as? String == name }
            let impairment = try #require(endpoint?["impairment"] as? [String: Any], "\(r)")
            return (impairment["egress"], impairment["ingress"])
        }
        let inspectedB = try inspected("b")
        #expect(inspectedB.egress is NSNull && (inspectedB.ingress as? [String: String]) == ["rate": "8mbit"], "\(inspectedB)")
        let table = try lab.contain(["net", "inspect", "contain"])
        #expect(table.stdout.contains("INGRESS IMPAIRMENT") && table.stdout.contains("   rate 8mbit\n"), "\(table)")
        let started = Date()
        let sent = try lab.contain(["exec", "a", "--", "sh", "-c", "dd if=/dev/zero bs=65536 count=32 2>/dev/null | nc b 9000"])
        let seconds = Date().timeIntervalSince(started)
        #expect(sent.status == 0 && seconds > 1.5 && seconds < 15, "2 MiB at 8 Mbit/s took \(seconds) s: \(sent)")
        for name in ["a", "b"] { #expect(try lab.contain(["net", "impair", name, "--clear"]).status == 0) }
        let cleared = try lab.contain(["net", "impair", "contain"])
        #expect(cleared.stdout.contains("a ") && !cleared.stdout.contains("rate") && !cleared.stdout.contains("delay"), "\(cleared)")
        for name in ["a", "b"] {
            let none = try inspected(name)
            #expect(none.egress is NSNull && none.ingress is NSNull, "\(name): \(none)")
        }
        let clearedTable = try lab.contain(["net", "inspect", "contain"])
        #expect(!clearedTable.stdout.contains("rate") && !clearedTable.stdout.contains("delay"), "\(clearedTable)")
        #expect(abs(try rtt() - baseline) < 15)
        #expect(try lab.contain(["net", "create", "quiet"]).status == 0)
        for (arguments, words) in [(["net", "impair", "a", "--loss", "120%"], "loss"), (["net", "impair", "a:eth7", "--rate", "1mbit"], "no such interface"),
                                   (["net", "impair", "nobody", "--rate", "1mbit"], "nobody"), (["net", "impair", "a", "--rate", "0mbit"], "rate"),
                                   (["net", "impair", "a", "--jitter", "5ms"], "jitter needs a delay"),
                                   (["net", "impair", "quiet", "--rate", "1mbit"], "network quiet has no running containers")] {
            let r = try lab.contain(arguments)
            #expect(r.status != 0 && r.stderr.contains(words), "\(arguments): \(r)")
        }
        #expect(try lab.contain(["net", "rm", "quiet"]).status == 0)
        // `run --impair`: set before the command runs; without netem such a start is refused.
        let slow = try lab.startRun(["--net", "bridge", "--name", "slow", "--impair", "rate=4mbit"], idle)
        #expect(slow.waitForOutput("ready"), "\(slow.stdoutSoFar)")
        let slowShown = try lab.contain(["net", "impair", "slow"])
        #expect(slowShown.stdout.contains("slow ") && slowShown.stdout.contains("rate 4mbit"), "\(slowShown)")
        let netemStart = try lab.run(["--net", "bridge", "--impair", "delay=40ms,loss=1%"], ["true"])
        if kernelHasNetem {
            #expect(netemStart.status == 0, "\(netemStart)")
        } else {
            #expect(netemStart.status == 125 && netemStart.errors.first?.contains("this kernel has no netem") == true, "\(netemStart)")
        }
        let badSpec = try lab.run(["--net", "bridge", "--impair", "delay=forever"], ["true"])
        #expect(badSpec.status == 125, "\(badSpec)")
        for running in [a, b, slow] {
            running.signal(SIGTERM)
            _ = try running.wait()
        }
        try lab.expectClean()
    }
}
