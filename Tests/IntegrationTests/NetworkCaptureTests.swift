import Foundation
import Testing

/// `contain net capture`, end to end in throwaway namespaces: pcap files that tshark reads,
/// filters, tcpdump-style lines, the ways a capture ends, and bad input.
@Suite(.enabled(if: Harness.enabled)) struct NetworkCaptureTests {
    static let idle = ["sh", "-c", "trap 'exit 0' TERM; echo ready; while :; do sleep 1; done"]
    static let tshark = "/usr/bin/tshark"

    /// A directory for capture files and tool output, removed by `body`'s end.
    static func withScratch(_ body: (String) throws -> Void) throws {
        let directory = NSTemporaryDirectory() + "contain-capture-" + String(UInt32.random(in: 0..<UInt32.max), radix: 16)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(directory)
    }

    /// Starts `net capture ARGS` and waits until it listens.
    static func capture(_ lab: NetworkLab, _ arguments: [String]) throws -> Running {
        let capture = try lab.start(["net", "capture"] + arguments)
        #expect(eventually(timeout: 20) { capture.stderrSoFar.contains("listening on") }, "\(capture.stderrSoFar)")
        return capture
    }

    /// A ping between two containers captured with `-w` and a filter: tshark reads the file
    /// back with the right addresses and count, and the filter kept out the name lookup and ARP.
    @Test func writesAFileTsharkReadsBack() throws { try Self.withScratch { scratch in
        let lab = try NetworkLab()
        let a = try lab.startRun(["--net", "bridge", "--name", "a", "--ip", "10.88.0.21"], Self.idle)
        let b = try lab.startRun(["--net", "bridge", "--name", "b", "--ip", "10.88.0.22"], Self.idle)
        #expect(a.waitForOutput("ready") && b.waitForOutput("ready"))
        let file = scratch + "/ping.pcap", everything = scratch + "/all.pcap", output = scratch + "/tshark.out"
        let filtered = try Self.capture(lab, ["a", "-w", file, "icmp"])
        let unfiltered = try Self.capture(lab, ["a", "-w", everything])
        let ping = try lab.contain(["exec", "a", "--", "ping", "-c", "4", "-i", "0.2", "b"])
        #expect(ping.status == 0, "\(ping)")
        usleep(300_000)
        for capture in [filtered, unfiltered] { capture.signal(SIGINT) }
        let stopped = try filtered.wait(timeout: 20)
        #expect(stopped.status == 0 && stopped.stderr.contains("8 packets captured"), "\(stopped)")
        let all = try unfiltered.wait(timeout: 20)
        #expect(all.status == 0, "\(all)")

        let read = try runTool(Self.tshark, ["-r", file, "-T", "fields", "-e", "ip.src", "-e", "ip.dst", "-e", "icmp.type"], output: output)
        #expect(read.status == 0, "\(read)")
        let rows = read.output.split(separator: "\n").filter { !$0.contains("Running as user") }.map { $0.split(separator: "\t").joined(separator: " ") }
        #expect(rows.count == 8, "\(read.output)")
        #expect(rows.filter { $0 == "10.88.0.21 10.88.0.22 8" }.count == 4, "\(read.output)")
        #expect(rows.filter { $0 == "10.88.0.22 10.88.0.21 0" }.count == 4, "\(read.output)")
        // Without the filter the same link also carried the name lookup of `b` (to the gateway).
        let other = try runTool(Self.tshark, ["-r", everything, "-T", "fields", "-e", "_ws.col.Protocol"], output: output)
        #expect(other.output.contains("DNS") && other.output.split(separator: "\n").filter { $0 == "ICMP" }.count == 8, "\(other.output)")

        for running in [a, b] { running.signal(SIGTERM); _ = try running.wait() }
        try lab.expectClean()
    } }

    /// Without -w, one tcpdump-style line per packet; -c and --duration end the capture on their
    /// own, and so does the end of the container whose link is captured.
    @Test func printsLinesAndEndsByCountDurationOrTheLinksEnd() throws {
        let lab = try NetworkLab()
        let a = try lab.startRun(["--net", "bridge", "--name", "a", "--ip", "10.88.0.31"], Self.idle)
        let b = try lab.startRun(["--net", "bridge", "--name", "b", "--ip", "10.88.0.32"], ["sh", "-c", "echo ready; sleep 8"])
        #expect(a.waitForOutput("ready") && b.waitForOutput("ready"))
        let counted = try Self.capture(lab, ["b", "-c", "2", "icmp"])
        let timed = try Self.capture(lab, ["contain", "--duration", "2s", "icmp"])
        let started = Date()
        let ping = try lab.contain(["exec", "a", "--", "ping", "-c", "3", "-i", "0.2", "10.88.0.32"])
        #expect(ping.status == 0, "\(ping)")
        let lines = try counted.wait(timeout: 20)
        let printed = lines.stdout.split(separator: "\n")
        #expect(lines.status == 0 && printed.count == 2 && lines.stderr.contains("2 packets captured"), "\(lines)")
        #expect(printed.first?.contains("IP 10.88.0.31 > 10.88.0.32: ICMP echo request, id ") == true, "\(lines)")
        #expect(printed.last?.contains("IP 10.88.0.32 > 10.88.0.31: ICMP echo reply, id ") == true, "\(lines)")
        let bridge = try timed.wait(timeout: 30)
        let took = Date().timeIntervalSince(started)
        #expect(bridge.status == 0 && bridge.stderr.contains("6 packets captured") && took < 20 * Harness.timeScale, "\(took) s: \(bridge)")
        // b's command ends after 8 s: its veth goes, and so does the capture on it.
        let gone = try Self.capture(lab, ["b"])
        let ended = try gone.wait(timeout: 40)
        #expect(ended.status == 0 && ended.stderr.contains("went away"), "\(ended)")
        #expect(try b.wait().status == 0)
        a.signal(SIGTERM)
        _ = try a.wait()
        try lab.expectClean()
    }

    /// One clear line and exit 125 for each, with no file left behind.
    @Test func refusesBadInput() throws { try Self.withScratch { scratch in
        let lab = try NetworkLab()
        let a = try lab.startRun(["--net", "bridge", "--name", "a"], Self.idle)
        #expect(a.waitForOutput("ready"))
        let missing = scratch + "/no/such/dir/x.pcap"
        #expect(try lab.run(["-d", "--net", "bridge", "--name", "done"], ["true"]).status == 0)
        #expect(try lab.contain(["wait", "done"]).stdout == "0\n")
        #expect(try lab.contain(["net", "create", "quiet"]).status == 0)
        let cases: [([String], String)] = [
            (["a", "tcp", "port"], "invalid capture filter `tcp port`"),
            (["a", "-w", missing], "cannot write capture file"),
            (["a", "-c", "0"], "invalid count"),
            (["a", "--duration=-1s"], "invalid duration"),
            (["a", "--duration", "5x"], "invalid duration"),
            (["a:eth3"], "no such interface"),
            (["nothing"], "no such container or network: nothing"),
            (["done"], "container done is not running"),
            (["quiet"], "network quiet has no bridge yet"),
        ]
        for (arguments, words) in cases {
            let r = try lab.contain(["net", "capture"] + arguments, timeout: 30)
            let lines = r.stderr.split(separator: "\n")
            #expect(r.status == 125 && lines.count == 1 && r.stderr.contains(words), "\(arguments): \(r)")
        }
        #expect(!FileManager.default.fileExists(atPath: missing))
        #expect(try lab.contain(["rm", "done"]).status == 0)
        #expect(try lab.contain(["net", "rm", "quiet"]).status == 0)
        a.signal(SIGTERM)
        _ = try a.wait()
        try lab.expectClean()
    } }
}
