import Foundation
import Testing
@testable import ContainNetwork

/// libpcap, loaded at run time: filters it compiles or refuses, and the bytes of the pcap files
/// it writes for `net capture -w` (the classic format: what tcpdump -r and tshark -r read).
@Suite struct PcapFileTests {
    @Test func filtersInTcpdumpSyntax() throws {
        for good in ["icmp", "tcp port 80 and host 10.88.0.2", "arp or icmp6", "not udp", "ether host 02:42:0a:58:00:02"] {
            #expect(throws: Never.self, "\(good)") { try PacketCapture.checkFilter(good) }
        }
        for (bad, words) in [("tcp port", "syntax error"), ("host 300.1.1.1", "300.1.1.1"), ("icmp and", "syntax error"),
                             ("port 99999", "port")] {
            #expect("\(bad)") {
                try PacketCapture.checkFilter(bad)
            } throws: { error in
                "\(error)".hasPrefix("invalid capture filter `\(bad)`: ") && "\(error)".contains(words)
            }
        }
    }

    @Test func writesTheClassicPcapFormat() throws {
        let path = NSTemporaryDirectory() + "contain-pcap-\(UInt32.random(in: 0..<UInt32.max)).pcap"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try PcapWriter(path: path, linkType: LinkType.ethernet, snapshotLength: 96)
        let frame = Frames.ethernet(0x0800, Frames.ipv4(1, "10.88.0.2", "10.88.0.3", Frames.echo(type: 8, id: 7, seq: 1, dataLength: 8)))
        writer.write(CapturedPacket(frame: frame, seconds: 1_704_112_496, microseconds: 789_012, length: 1500))
        try writer.close()
        try writer.close()   // idempotent
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        func le32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * $1) } }
        func le16(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
        #expect(bytes.count == 24 + 16 + frame.count)
        #expect(le32(0) == 0xa1b2_c3d4 && le16(4) == 2 && le16(6) == 4)      // microsecond pcap, version 2.4
        #expect(le32(16) == 96 && le32(20) == 1)                              // snapshot length, LINKTYPE_ETHERNET
        #expect(le32(24) == 1_704_112_496 && le32(28) == 789_012)             // the packet's time
        #expect(le32(32) == UInt32(frame.count) && le32(36) == 1500)          // captured, on the wire
        #expect(Array(bytes[40...]) == frame)
    }

    @Test func refusesAFileItCannotCreate() {
        #expect {
            _ = try PcapWriter(path: "/nonexistent-directory/x.pcap")
        } throws: { error in
            "\(error)" == "cannot write capture file /nonexistent-directory/x.pcap: No such file or directory"
        }
    }
}
