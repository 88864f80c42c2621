import CLibmnl
import ContainSystem
import Glibc
import Testing
@testable import ContainNetwork

// Golden bytes for the qdisc requests. The netem ones were checked against what tc sends
// (`strace -e trace=sendmsg -x tc qdisc replace dev X root handle 1: netem ...`, iproute2
// 6.1, captured on this project's build machine, whose kernel has no netem and refuses the
// request): every byte up to and including `struct tc_netem_qopt`, and each TCA_NETEM_*
// attribute, is tc's. We add TCA_NETEM_LATENCY64/JITTER64 as iproute2 6.10 and later send
// them (tc/q_netem.c since commit 9a6b231e: the delay as an s64 of nanoseconds, straight
// after the struct); tc 6.1 sends the ticks in the struct only, tc 6.10 the attributes only.
//
// Common parts: nlmsghdr (len, RTM_NEWQDISC 36, flags REQUEST|ACK|REPLACE|CREATE = 0x505,
// seq 9, pid 0); tcmsg (AF_UNSPEC, pads, ifindex 7, handle 1: = 0x00010000, parent
// TC_H_ROOT = 0xffffffff, info 0); TCA_KIND (1) "netem\0" padded to 12 bytes.
// A tick is 64 ns: 40 ms = 625000 ticks (0x00098968), as tc computes from /proc/net/psched.

@Suite struct ImpairmentTests {
    static let header: [UInt8] = [0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]
    static let netemKind: [UInt8] = [10, 0, 1, 0, 0x6e, 0x65, 0x74, 0x65, 0x6d, 0, 0, 0]

    static func newQdisc(length: UInt8) -> [UInt8] { [length, 0, 0, 0, 36, 0, 0x05, 0x05, 9, 0, 0, 0, 0, 0, 0, 0] }

    static func impairment(_ text: String) throws -> Impairment { try Impairment(parsing: text) }

    // MARK: parsing

    @Test(arguments: [
        ("delay=40ms", "delay 40ms"),
        ("delay=1.5ms,jitter=500us", "delay 1.5ms jitter 500us"),
        ("delay=2s", "delay 2s"),
        ("delay=0.25sec", "delay 250ms"),
        ("delay=100usec", "delay 100us"),
        ("delay=40msec,loss=0%", "delay 40ms loss 0%"),
        ("loss=1.5%", "loss 1.5%"),
        ("loss=100%", "loss 100%"),
        ("loss=.5%", "loss 0.5%"),
        ("rate=10mbit", "rate 10mbit"),
        ("rate=1.5gbit", "rate 1.5gbit"),
        ("rate=100kbps", "rate 800kbit"),
        ("rate=1mbps", "rate 8mbit"),
        ("rate=800bit", "rate 800bit"),
        ("RATE=64Kbit", "rate 64kbit"),
        (" delay = 40ms , loss = 1% ", "delay 40ms loss 1%"),
        ("delay=40ms,jitter=5ms,loss=1%,rate=10mbit,duplicate=1%,corrupt=0.1%,reorder=25%,limit=100",
         "delay 40ms jitter 5ms loss 1% duplicate 1% corrupt 0.1% reorder 25% rate 10mbit limit 100"),
    ])
    func parsesTheCommaForm(text: String, description: String) throws {
        let parsed = try Impairment(parsing: text)
        #expect(parsed.description == description)
        // The comma form it writes reads back as the same impairment.
        #expect(try Impairment(parsing: parsed.specification) == parsed)
    }

    @Test func parsedValuesAreExact() throws {
        let parsed = try Self.impairment("delay=1.5ms,jitter=250us,loss=0.1%,rate=100kbps,limit=50")
        #expect(parsed.delay == ImpairmentTime(microseconds: 1500))
        #expect(parsed.jitter == ImpairmentTime(microseconds: 250))
        #expect(parsed.loss == Percent(0.1))
        #expect(parsed.rate == Rate(bitsPerSecond: 800_000))
        #expect(parsed.limit == 50)
        #expect(parsed.specification == "delay=1.5ms,jitter=250us,loss=0.1%,rate=800kbit,limit=50")
    }

    @Test(arguments: [
        ("", "empty impairment: give at least one of delay, jitter, loss, rate, duplicate, corrupt or reorder"),
        ("delay=40", "invalid delay `40`: give a unit, e.g. 40ms (us, ms, s)"),
        ("delay=40m", "invalid delay `40m`: unknown unit `m` (us, ms, s)"),
        ("delay=-5ms", "invalid delay `-5ms`: cannot be negative"),
        ("delay=fast", "invalid delay `fast`: expected a time such as 40ms or 1.5ms"),
        ("delay=1.2.3ms", "invalid delay `1.2.3ms`: expected a time such as 40ms or 1.5ms"),
        ("delay=0.5us", "invalid delay `0.5us`: finer than a microsecond"),
        ("delay=", "invalid delay ``: expected a time such as 40ms or 1.5ms"),
        ("delay=99999999999999999s", "invalid delay `99999999999999999s`: too large"),
        ("delay=10s,jitter=3s", "jitter 3s is above the kernel's limit of 2147483us (about 2.1s)"),
        ("loss=1.5", "invalid loss `1.5`: give a percentage, e.g. 1.5%"),
        ("loss=101%", "invalid loss `101%`: a percentage is between 0% and 100%"),
        ("duplicate=-1%", "invalid duplicate `-1%`: a percentage is between 0% and 100%"),
        ("corrupt=lots%", "invalid corrupt `lots%`: expected a percentage such as 1.5%"),
        ("rate=0mbit", "invalid rate `0mbit`: a rate must be above 0"),
        ("rate=4bit", "invalid rate `4bit`: the kernel's rates are whole bytes per second, at least 8bit"),
        ("rate=10", "invalid rate `10`: give a unit, e.g. 10mbit (bit, kbit, mbit, gbit; bps, kbps, mbps, gbps for bytes)"),
        ("rate=10mb", "invalid rate `10mb`: unknown unit `mb` (bit, kbit, mbit, gbit; bps, kbps, mbps, gbps for bytes)"),
        ("loss=1%,limit=many", "invalid limit `many`: expected a number of packets such as 1000"),
        ("loss=1%,limit=0", "invalid limit `0`: netem's queue holds at least 1 packet"),
        ("jitter=5ms", "jitter needs a delay: it varies the delay by up to that much"),
        ("reorder=25%", "reorder needs a delay: netem reorders by sending some packets at once while the rest wait the delay"),
        ("delay=0ms,reorder=25%", "reorder needs a delay: netem reorders by sending some packets at once while the rest wait the delay"),
        ("limit=100", "limit is netem's queue in packets: it needs a delay, jitter, loss, duplicate, corrupt or reorder"),
        ("rate=1mbit,limit=100", "limit is netem's queue in packets: it needs a delay, jitter, loss, duplicate, corrupt or reorder"),
        ("latency=40ms", "unknown impairment `latency`: expected delay, jitter, loss, rate, duplicate, corrupt, reorder or limit"),
        ("delay=40ms,delay=50ms", "impairment `delay` is given twice"),
        ("delay40ms", "invalid impairment `delay40ms`: expected KEY=VALUE, e.g. delay=40ms"),
        ("delay=40ms,,loss=1%", "invalid impairment `delay=40ms,,loss=1%`: an empty item between commas"),
    ])
    func refusesBadInputWithOneClearLine(text: String, message: String) {
        #expect(throws: NetworkError.invalid(message)) { try Impairment(parsing: text) }
    }

    @Test func parsesSeparateFlags() throws {
        let flags = try Impairment(delay: "40ms", jitter: "5ms", loss: "1.5%", rate: "10mbit", duplicate: nil,
                                   corrupt: nil, reorder: nil, limit: nil)
        #expect(flags == (try Self.impairment("delay=40ms,jitter=5ms,loss=1.5%,rate=10mbit")))
        #expect(flags.description == "delay 40ms jitter 5ms loss 1.5% rate 10mbit")
        #expect(throws: NetworkError.invalid("empty impairment: give at least one of delay, jitter, loss, rate, duplicate, corrupt or reorder")) {
            try Impairment(delay: nil, jitter: nil, loss: nil, rate: nil, duplicate: nil, corrupt: nil, reorder: nil, limit: nil)
        }
        #expect(throws: NetworkError.invalid("invalid loss `2`: give a percentage, e.g. 1.5%")) {
            try Impairment(delay: nil, jitter: nil, loss: "2", rate: nil, duplicate: nil, corrupt: nil, reorder: nil, limit: nil)
        }
    }

    @Test func onlyARateAloneIsTbfs() throws {
        #expect(try Self.impairment("rate=10mbit").needsNetem == false)
        #expect(try Self.impairment("rate=10mbit,loss=1%").needsNetem)
        #expect(try Self.impairment("delay=1ms").needsNetem)
        #expect(Impairment().isEmpty)
        #expect(try Self.impairment("loss=0%").isEmpty == false)
    }

    @Test func percentagesAreTheKernelsProbabilities() {
        // tc: rint(percent / 100 * UINT32_MAX)
        #expect(Percent(1.5).probability == 64_424_509)
        #expect(Percent(1).probability == 42_949_673)
        #expect(Percent(0.1).probability == 4_294_967)
        #expect(Percent(25).probability == 0x4000_0000)
        #expect(Percent(100).probability == UInt32.max)
        #expect(Percent(0).probability == 0)
        for value in [0.1, 0.5, 1, 1.5, 25, 33.333333, 99.999999, 100] {
            #expect(Percent(probability: Percent(value).probability) == Percent(value))
        }
    }

    @Test func directionsParse() throws {
        #expect(try ImpairmentDirection(parsing: "egress") == .egress)
        #expect(try ImpairmentDirection(parsing: "Ingress") == .ingress)
        #expect(try ImpairmentDirection(parsing: "both") == .both)
        #expect(throws: NetworkError.invalid("invalid direction `out`: expected egress, ingress or both")) {
            try ImpairmentDirection(parsing: "out")
        }
    }

    // MARK: golden requests

    @Test func netemDelayIsGolden() throws {
        // tc qdisc replace dev X root handle 1: netem delay 40ms
        #expect(QdiscRequests.replaceNetem(index: 7, try Self.impairment("delay=40ms"), sequence: 9) ==
            Self.newQdisc(length: 88) + Self.header + Self.netemKind + [
                40, 0, 2, 0,                                // TCA_OPTIONS (2), no NLA_F_NESTED, as tc
                0x68, 0x89, 0x09, 0x00,                     // tc_netem_qopt: latency 625000 ticks
                0xe8, 0x03, 0, 0,                           //   limit 1000 (tc's default)
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,         //   loss, gap, duplicate 0
                0, 0, 0, 0,                                 //   jitter 0
                12, 0, 10, 0,                               // TCA_NETEM_LATENCY64 (10)
                0x00, 0x5a, 0x62, 0x02, 0, 0, 0, 0,         //   40000000 ns
            ])
    }

    @Test func netemDelayJitterLossIsGolden() throws {
        // tc qdisc replace dev X root handle 1: netem delay 40ms 5ms loss 1.5%
        #expect(QdiscRequests.replaceNetem(index: 7, try Self.impairment("delay=40ms,jitter=5ms,loss=1.5%"), sequence: 9) ==
            Self.newQdisc(length: 100) + Self.header + Self.netemKind + [
                52, 0, 2, 0,                                // TCA_OPTIONS
                0x68, 0x89, 0x09, 0x00,                     // tc_netem_qopt: latency 625000 ticks
                0xe8, 0x03, 0, 0,                           //   limit 1000
                0x3d, 0x0a, 0xd7, 0x03,                     //   loss 1.5% = 64424509
                0, 0, 0, 0, 0, 0, 0, 0,                     //   gap, duplicate 0
                0x2d, 0x31, 0x01, 0x00,                     //   jitter 5 ms = 78125 ticks
                12, 0, 10, 0,                               // TCA_NETEM_LATENCY64
                0x00, 0x5a, 0x62, 0x02, 0, 0, 0, 0,         //   40000000 ns
                12, 0, 11, 0,                               // TCA_NETEM_JITTER64 (11)
                0x40, 0x4b, 0x4c, 0x00, 0, 0, 0, 0,         //   5000000 ns
            ])
    }

    @Test func netemLossOnlyIsTcsToTheByte() throws {
        // tc qdisc replace dev X root handle 1: netem loss 1%: no delay, so no LATENCY64
        // either, and the message is tc 6.1's and tc 6.10's alike.
        #expect(QdiscRequests.replaceNetem(index: 7, try Self.impairment("loss=1%"), sequence: 9) ==
            Self.newQdisc(length: 76) + Self.header + Self.netemKind + [
                28, 0, 2, 0,                                // TCA_OPTIONS: the struct alone
                0, 0, 0, 0,                                 // tc_netem_qopt: latency 0
                0xe8, 0x03, 0, 0,                           //   limit 1000
                0x29, 0x5c, 0x8f, 0x02,                     //   loss 1% = 42949673
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,         //   gap, duplicate, jitter 0
            ])
        // limit=100 changes the struct's limit only (tc ... netem loss 1% limit 100)
        let limited = QdiscRequests.replaceNetem(index: 7, try Self.impairment("loss=1%,limit=100"), sequence: 9)
        #expect(Array(limited[56..<60]) == [100, 0, 0, 0])
    }

    @Test func netemDuplicateCorruptReorderIsGolden() throws {
        // tc qdisc replace dev X root handle 1: netem delay 10ms duplicate 1% corrupt 0.1% reorder 25%
        let impairment = try Self.impairment("delay=10ms,duplicate=1%,corrupt=0.1%,reorder=25%")
        #expect(QdiscRequests.replaceNetem(index: 7, impairment, sequence: 9) ==
            Self.newQdisc(length: 112) + Self.header + Self.netemKind + [
                64, 0, 2, 0,                                // TCA_OPTIONS
                0x5a, 0x62, 0x02, 0x00,                     // tc_netem_qopt: latency 10 ms = 156250 ticks
                0xe8, 0x03, 0, 0,                           //   limit 1000
                0, 0, 0, 0,                                 //   loss 0
                1, 0, 0, 0,                                 //   gap 1: reorder sets it, as tc
                0x29, 0x5c, 0x8f, 0x02,                     //   duplicate 1%
                0, 0, 0, 0,                                 //   jitter 0
                12, 0, 10, 0,                               // TCA_NETEM_LATENCY64
                0x80, 0x96, 0x98, 0x00, 0, 0, 0, 0,         //   10000000 ns
                12, 0, 3, 0,                                // TCA_NETEM_REORDER (3): tc_netem_reorder
                0x00, 0x00, 0x00, 0x40, 0, 0, 0, 0,         //   probability 25%, correlation 0
                12, 0, 4, 0,                                // TCA_NETEM_CORRUPT (4): tc_netem_corrupt
                0x37, 0x89, 0x41, 0x00, 0, 0, 0, 0,         //   probability 0.1% = 4294967, correlation 0
            ])
    }

    @Test func netemWithARateIsGolden() throws {
        // tc qdisc replace dev X root handle 1: netem delay 40ms rate 10mbit
        #expect(QdiscRequests.replaceNetem(index: 7, try Self.impairment("delay=40ms,rate=10mbit"), sequence: 9) ==
            Self.newQdisc(length: 108) + Self.header + Self.netemKind + [
                60, 0, 2, 0,                                // TCA_OPTIONS
                0x68, 0x89, 0x09, 0x00, 0xe8, 0x03, 0, 0,   // tc_netem_qopt: latency 625000 ticks, limit 1000
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                12, 0, 10, 0,                               // TCA_NETEM_LATENCY64
                0x00, 0x5a, 0x62, 0x02, 0, 0, 0, 0,
                20, 0, 6, 0,                                // TCA_NETEM_RATE (6): tc_netem_rate
                0xd0, 0x12, 0x13, 0x00,                     //   1250000 bytes/s
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,         //   packet overhead, cell size, cell overhead 0
            ])
        // Above 2^32 bytes/s (40gbit) tc sends TCA_NETEM_RATE64 first and ~0 in the struct.
        let fast = QdiscRequests.replaceNetem(index: 7, try Self.impairment("delay=40ms,rate=40gbit"), sequence: 9)
        #expect(fast.count == 120)
        #expect(Array(fast[88...]) == [
            12, 0, 8, 0, 0x00, 0xf2, 0x05, 0x2a, 0x01, 0, 0, 0,  // TCA_NETEM_RATE64 (8): 5000000000
            20, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,                 // TCA_NETEM_RATE: ~0
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ])
    }

    @Test func tbfRateIsGolden() {
        // tc qdisc replace dev X root handle 1: tbf rate 10mbit burst 32kb latency 50ms, less
        // the 1 KiB rate table (TCA_TBF_RTAB) the kernel does not read for an ethernet ratespec.
        #expect(QdiscRequests.replaceTbf(index: 7, rate: 10_000_000, burst: 32768, latency: .milliseconds(50), sequence: 9) ==
            Self.newQdisc(length: 96) + Self.header + [
                8, 0, 1, 0, 0x74, 0x62, 0x66, 0,            // TCA_KIND "tbf"
                52, 0, 2, 0,                                // TCA_OPTIONS (a nest, as tc: no NLA_F_NESTED)
                40, 0, 1, 0,                                // TCA_TBF_PARMS (1): tc_tbf_qopt
                3, 1, 0, 0,                                 //   rate: cell_log 3, linklayer ethernet, overhead 0
                0xff, 0xff, 0, 0,                           //     cell_align -1, mpu 0
                0xd0, 0x12, 0x13, 0x00,                     //     1250000 bytes/s
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,         //   peakrate: none
                0x24, 0x74, 0x01, 0x00,                     //   limit 95268 = 1250000 × 50 ms + 32768
                0xf9, 0x3f, 0x06, 0x00,                     //   buffer 409593 ticks = 26214 us × 15.625
                0, 0, 0, 0,                                 //   mtu 0
                8, 0, 6, 0, 0x00, 0x80, 0, 0,               // TCA_TBF_BURST (6): 32768
            ])
    }

    @Test func tbfDefaultsAndHighRates() {
        // Defaults: burst max(10 ms at the rate, 16 KiB), latency 50 ms.
        #expect(QdiscRequests.defaultBurst(rate: 10_000_000) == 16384)
        #expect(QdiscRequests.defaultBurst(rate: 1_000_000_000) == 1_250_000)
        let defaults = QdiscRequests.replaceTbf(index: 7, rate: 10_000_000, sequence: 9)
        #expect(defaults.count == 96)
        #expect(Array(defaults[76..<84]) == [0x24, 0x34, 0x01, 0x00, 0xfc, 0x1f, 0x03, 0x00])  // limit 78884, buffer 204796
        #expect(Array(defaults[88...]) == [8, 0, 6, 0, 0x00, 0x40, 0, 0])                      // burst 16384
        // tc ... tbf rate 40gbit burst 32kb latency 50ms: rate ~0 in the struct, the buffer
        // from it (as tc), TCA_TBF_RATE64 after the burst.
        let fast = QdiscRequests.replaceTbf(index: 7, rate: 40_000_000_000, burst: 32768, latency: .milliseconds(50), sequence: 9)
        #expect(fast.count == 108)
        #expect(Array(fast[60..<64]) == [0xff, 0xff, 0xff, 0xff])                              // rate ~0
        #expect(Array(fast[76..<84]) == [0x80, 0x32, 0xe7, 0x0e, 0x6d, 0, 0, 0])               // limit 250032768, buffer 109
        #expect(Array(fast[88...]) == [8, 0, 6, 0, 0x00, 0x80, 0, 0,                           // TCA_TBF_BURST
                                       12, 0, 4, 0, 0x00, 0xf2, 0x05, 0x2a, 0x01, 0, 0, 0])   // TCA_TBF_RATE64 (4)
    }

    @Test func deleteAndDumpAreGolden() {
        // tc qdisc del dev X root: RTM_DELQDISC (37), REQUEST|ACK, handle 0, parent TC_H_ROOT
        #expect(QdiscRequests.deleteRoot(index: 7, sequence: 9) == [
            36, 0, 0, 0, 37, 0, 5, 0, 9, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,
        ])
        // tc qdisc show: RTM_GETQDISC (38), REQUEST|DUMP (0x301), an empty tcmsg
        #expect(QdiscRequests.dump(sequence: 9) == [
            36, 0, 0, 0, 38, 0, 1, 3, 9, 0, 0, 0, 0, 0, 0, 0,
        ] + [UInt8](repeating: 0, count: 20))
    }

    // MARK: decoding

    @Test(arguments: [
        "delay=40ms",
        "delay=40ms,jitter=5ms,loss=1.5%",
        "loss=1%,limit=100",
        "delay=10ms,duplicate=1%,corrupt=0.1%,reorder=25%",
        "delay=40ms,jitter=5ms,loss=1%,rate=10mbit,duplicate=1%,corrupt=0.1%,reorder=25%,limit=100",
        "delay=300s,rate=40gbit",
        "delay=1.5ms,jitter=250us,loss=33.333333%",
    ])
    func netemRoundTrips(text: String) throws {
        let impairment = try Self.impairment(text)
        // A request is an RTM_NEWQDISC like the kernel's replies, so it parses as one.
        let info = try #require(Replies.qdisc(QdiscRequests.replaceNetem(index: 7, impairment, sequence: 9)))
        #expect(info.index == 7 && info.kind == "netem" && info.handle == QdiscRequests.rootHandle && info.isRoot)
        #expect(info.impairment == impairment)
    }

    @Test(arguments: [UInt64(10_000_000), 64_000, 1_500_000_000, 40_000_000_000])
    func tbfRoundTrips(rate: UInt64) throws {
        let info = try #require(Replies.qdisc(QdiscRequests.replaceTbf(index: 3, rate: rate, sequence: 1)))
        #expect(info.kind == "tbf" && info.index == 3)
        #expect(info.impairment == Impairment(rateOnly: rate))
    }

    @Test func decodesTheKernelsNetemDump() throws {
        // What the kernel dumps for `netem delay 40ms`: every attribute, zero when unset,
        // and the PRNG seed 8-aligned behind a TCA_NETEM_PAD.
        var options: [UInt8] = [0x68, 0x89, 0x09, 0x00, 0xe8, 0x03, 0, 0] + [UInt8](repeating: 0, count: 16)
        options += [12, 0, 10, 0, 0x00, 0x5a, 0x62, 0x02, 0, 0, 0, 0]          // LATENCY64
        options += [12, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0]                      // JITTER64 0
        options += [16, 0, 1, 0] + [UInt8](repeating: 0, count: 12)           // CORR
        options += [12, 0, 3, 0] + [UInt8](repeating: 0, count: 8)            // REORDER 0
        options += [12, 0, 4, 0] + [UInt8](repeating: 0, count: 8)            // CORRUPT 0
        options += [20, 0, 6, 0] + [UInt8](repeating: 0, count: 16)           // RATE 0
        options += [4, 0, 9, 0]                                               // PAD
        options += [12, 0, 13, 0, 1, 2, 3, 4, 5, 6, 7, 8]                     // PRNG_SEED
        #expect(Replies.impairment(fromNetem: options) == (try Self.impairment("delay=40ms")))
        // tc 6.1's request (ticks in the struct only) decodes the same way.
        let tc61: [UInt8] = [0x68, 0x89, 0x09, 0x00, 0xe8, 0x03, 0x00, 0x00, 0x3d, 0x0a, 0xd7, 0x03,
                             0, 0, 0, 0, 0, 0, 0, 0, 0x2d, 0x31, 0x01, 0x00]
        #expect(Replies.impairment(fromNetem: tc61) == (try Self.impairment("delay=40ms,jitter=5ms,loss=1.5%")))
        #expect(Replies.impairment(fromNetem: [1, 2, 3]) == nil)
        #expect(Replies.impairment(fromTbf: [4, 0, 6, 0]) == nil)
    }

    @Test func otherQdiscsAreNoImpairment() {
        var reply = Self.newQdisc(length: 48) + [0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0]
        reply += [11, 0, 1, 0, 0x6e, 0x6f, 0x71, 0x75, 0x65, 0x75, 0x65, 0]   // TCA_KIND "noqueue"
        let info = Replies.qdisc(reply)
        #expect(info == QdiscInfo(index: 2, kind: "noqueue", handle: 0, parent: TC_H_ROOT, options: []))
        #expect(info?.impairment == nil)
        #expect(Replies.qdisc(LinkRequests.setUp(index: 1, sequence: 1)) == nil)
    }

    // MARK: the kernel

    /// Sends the tbf request to the kernel: run as root inside a throwaway namespace, e.g.
    /// `ip netns exec NS env CONTAIN_TC_PROBE=DEV containPackageTests.xctest --filter kernelProbe`
    /// with a veth DEV in NS. Replaces DEV's root qdisc, reads it back, and deletes it.
    @Test(.enabled(if: getenv("CONTAIN_TC_PROBE") != nil && getuid() == 0))
    func kernelProbe() throws {
        let device = String(cString: getenv("CONTAIN_TC_PROBE"))
        let socket = try MnlSocket()
        let link = try #require(try Rtnetlink(transport: socket).link(named: device))
        _ = try socket.execute(QdiscRequests.replaceTbf(index: link.index, rate: 10_000_000, burst: 32768,
                                                        latency: .milliseconds(50), sequence: socket.nextSequence()),
                               operation: "tbf")
        // Same kind at handle 1: changes it in place.
        _ = try socket.execute(QdiscRequests.replaceTbf(index: link.index, rate: 40_000_000_000, sequence: socket.nextSequence()),
                               operation: "tbf again")
        let qdiscs = try socket.execute(QdiscRequests.dump(sequence: socket.nextSequence()), operation: "dump")
            .compactMap(Replies.qdisc).filter { $0.index == link.index && $0.isRoot }
        #expect(qdiscs.map(\.kind) == ["tbf"])
        #expect(qdiscs.first?.handle == QdiscRequests.rootHandle)
        #expect(qdiscs.first?.impairment == Impairment(rateOnly: 40_000_000_000))
        print("kernel probe: root qdisc \(qdiscs.first?.kind ?? "-") \(qdiscs.first?.impairment?.description ?? "-")")
        do {
            _ = try socket.execute(QdiscRequests.replaceNetem(index: link.index, try Self.impairment("delay=40ms"),
                                                              sequence: socket.nextSequence()), operation: "netem")
            print("kernel probe: netem accepted over tbf")
        } catch let error as SystemError {
            print("kernel probe: netem over tbf refused: \(error.errno) \(String(cString: strerror(error.errno)))")
        }
        _ = try socket.execute(QdiscRequests.deleteRoot(index: link.index, sequence: socket.nextSequence()), operation: "delete")
        do {
            _ = try socket.execute(QdiscRequests.replaceNetem(index: link.index, try Self.impairment("delay=40ms,loss=1%"),
                                                              sequence: socket.nextSequence()), operation: "netem")
            print("kernel probe: netem accepted")
            _ = try socket.execute(QdiscRequests.deleteRoot(index: link.index, sequence: socket.nextSequence()), operation: "delete")
        } catch let error as SystemError {
            print("kernel probe: netem refused: \(error.errno) \(String(cString: strerror(error.errno)))")
        }
        do {
            _ = try socket.execute(QdiscRequests.deleteRoot(index: link.index, sequence: socket.nextSequence()), operation: "delete")
            Issue.record("deleting the default root qdisc succeeded")
        } catch let error as SystemError {
            #expect(error.errno == ENOENT || error.errno == EINVAL)
            print("kernel probe: deleting the default qdisc: \(error.errno) \(String(cString: strerror(error.errno)))")
        }
    }
}

extension Impairment {
    init(rateOnly bitsPerSecond: UInt64) {
        self.init()
        rate = Rate(bitsPerSecond: bitsPerSecond)
    }
}
