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
}
