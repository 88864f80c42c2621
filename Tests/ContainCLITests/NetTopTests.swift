import ContainNetwork
import Testing
@testable import contain

/// `net top`'s arithmetic: rates from two readings of the host ends, turned around to the
/// container's point of view, busiest first.
@Suite struct NetTopTests {
    static func sample(_ name: String, rxBytes: UInt64, txBytes: UInt64, at: Double, drops: UInt64 = 0) -> NetTop.Sample {
        NetTop.Sample(container: name, network: "lab", interface: "eth0", address: "10.88.0.2",
                      stats: LinkStats(rxPackets: rxBytes / 100, txPackets: txBytes / 100, rxBytes: rxBytes, txBytes: txBytes, rxDropped: drops),
                      at: at)
    }

    @Test func ratesAreTheContainersViewBusiestFirst() {
        let before = ["veth1": Self.sample("quiet", rxBytes: 1000, txBytes: 1000, at: 10),
                      "veth2": Self.sample("busy", rxBytes: 0, txBytes: 0, at: 10)]
        let after = ["veth1": Self.sample("quiet", rxBytes: 1000, txBytes: 1000, at: 12, drops: 3),
                     // The host end sent 1 MB in 2 s: the container received 4 Mbit/s.
                     "veth2": Self.sample("busy", rxBytes: 2_000, txBytes: 1_000_000, at: 12),
                     "veth3": Self.sample("new", rxBytes: 5_000, txBytes: 5_000, at: 12)]
        let rows = NetTop.rows(previous: before, current: after)
        #expect(rows.map(\.container) == ["busy", "new", "quiet"])
        #expect(rows[0].rxBits == 4_000_000 && rows[0].txBits == 8_000 && rows[0].rxPackets == 5_000)
        // A new endpoint has no rate yet; counters that went backwards (a new veth) neither.
        #expect(rows[1].rxBits == 0 && rows[1].txBits == 0)
        #expect(rows[2].drops == 3)
        #expect(NetTop.table(rows).contains("4Mbit/s"))
        #expect(NetTop.bits(0) == "0bit/s" && NetTop.bits(840) == "840bit/s" && NetTop.bits(12_345) == "12.35kbit/s")
    }
}
