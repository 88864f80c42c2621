import CLibmnl
#if canImport(Glibc)
import Glibc
#endif

/// A queueing discipline as the kernel reports it (RTM_NEWQDISC replies to a dump).
public struct QdiscInfo: Equatable, Sendable {
    public var index: Int32
    public var kind: String
    public var handle: UInt32
    public var parent: UInt32
    /// TCA_OPTIONS' payload, as the kind defines it.
    public var options: [UInt8]

    public var isRoot: Bool { parent == TC_H_ROOT }

    /// The impairment a netem or tbf qdisc applies (nil for other kinds).
    public var impairment: Impairment? {
        switch kind {
        case "netem": return Replies.impairment(fromNetem: options)
        case "tbf": return Replies.impairment(fromTbf: options)
        default: return nil
        }
    }
}

/// rtnetlink requests about an interface's root qdisc: netem for delay, loss and the rest,
/// tbf for a rate alone. Pure, as `LinkRequests`: each returns the message bytes.
///
/// Each replace is `tc qdisc replace dev DEV root handle 1: KIND ...`. The kernel changes a
/// root qdisc `1:` of the same kind in place, but refuses one of another kind with EINVAL
/// ("Invalid qdisc name: must match existing qdisc"): going from tbf to netem or back takes
/// `deleteRoot` first.
public enum QdiscRequests {
    /// `1:`, the handle `tc ... root handle 1:` gives.
    public static let rootHandle: UInt32 = 0x0001_0000
    /// netem's queue when no limit is given, as tc's.
    public static let defaultNetemLimit: UInt32 = 1000
    /// How long tbf queues packets when no latency is given (tbf's limit in bytes is the
    /// rate times this plus the burst, as tc computes it from `latency`).
    public static let defaultTbfLatency = ImpairmentTime.milliseconds(50)

    static let replaceFlags = UInt16(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE)
    /// The kernel's scheduler tick (PSCHED_SHIFT 6: 64 ns), which /proc/net/psched reports
    /// and the old u32 fields (tc_netem_qopt's latency and jitter, tbf's buffer) count in.
    static let nanosecondsPerTick: UInt64 = 64

    /// RTM_NEWQDISC: netem as the root qdisc of link `index`, with every option of
    /// `impairment` (a rate goes into netem's own TCA_NETEM_RATE). tc's layout: TCA_OPTIONS
    /// is not a plain nest but the raw `struct tc_netem_qopt` followed by TCA_NETEM_*
    /// attributes. The delay and jitter go both ways tc has sent them: in ticks in the
    /// struct (tc before 6.10, and kernels before 4.15) and in nanoseconds as
    /// TCA_NETEM_LATENCY64/JITTER64 (tc 6.10 on), which a kernel reading both prefers.
    public static func replaceNetem(index: Int32, _ impairment: Impairment, sequence: UInt32) -> [UInt8] {
        NetlinkBuilder.build(type: UInt16(RTM_NEWQDISC), flags: replaceFlags, sequence: sequence) { nlh in
            putHeader(nlh, index: index, handle: rootHandle, parent: TC_H_ROOT)
            mnl_attr_put_strz(nlh, UInt16(TCA_KIND), "netem")
            let options = startOptions(nlh)
            let reorder = impairment.reorder?.probability ?? 0
            let qopt = mnl_nlmsg_put_extra_header(nlh, MemoryLayout<tc_netem_qopt>.size)!
                .assumingMemoryBound(to: tc_netem_qopt.self)
            qopt.pointee.latency = ticks(impairment.delay)
            qopt.pointee.limit = impairment.limit ?? defaultNetemLimit
            qopt.pointee.loss = impairment.loss?.probability ?? 0
            // Reordering sends every gap-th packet at once; tc sets gap 1 (any packet) and
            // leaves the choice to the reorder probability.
            qopt.pointee.gap = reorder > 0 ? 1 : 0
            qopt.pointee.duplicate = impairment.duplicate?.probability ?? 0
            qopt.pointee.jitter = ticks(impairment.jitter)
            if let delay = impairment.delay { mnl_attr_put_u64(nlh, UInt16(TCA_NETEM_LATENCY64), delay.nanoseconds) }
            if let jitter = impairment.jitter { mnl_attr_put_u64(nlh, UInt16(TCA_NETEM_JITTER64), jitter.nanoseconds) }
            if impairment.reorder != nil {
                var value = tc_netem_reorder(probability: reorder, correlation: 0)
                mnl_attr_put(nlh, UInt16(TCA_NETEM_REORDER), MemoryLayout<tc_netem_reorder>.size, &value)
            }
            if let corrupt = impairment.corrupt {
                var value = tc_netem_corrupt(probability: corrupt.probability, correlation: 0)
                mnl_attr_put(nlh, UInt16(TCA_NETEM_CORRUPT), MemoryLayout<tc_netem_corrupt>.size, &value)
            }
            if let rate = impairment.rate {
                let bytes = rate.bytesPerSecond
                // Above u32 the struct says ~0 and TCA_NETEM_RATE64 carries the rate.
                if bytes > UInt64(UInt32.max) { mnl_attr_put_u64(nlh, UInt16(TCA_NETEM_RATE64), bytes) }
                var value = tc_netem_rate(rate: UInt32(clamping: bytes), packet_overhead: 0, cell_size: 0, cell_overhead: 0)
                mnl_attr_put(nlh, UInt16(TCA_NETEM_RATE), MemoryLayout<tc_netem_rate>.size, &value)
            }
            mnl_attr_nest_end(nlh, options)
        }
    }

    /// The tbf burst when none is given: 10 ms of traffic at the rate (tc-tbf(8)'s rule of
    /// at least rate/HZ bytes, for HZ as low as 100), and at least 16 KiB, more than one
    /// packet of a 9000-byte jumbo MTU (tbf drops a packet larger than its burst).
    public static func defaultBurst(rate bitsPerSecond: UInt64) -> UInt32 {
        UInt32(clamping: max(bitsPerSecond / 8 / 100, 16 * 1024))
    }

    /// RTM_NEWQDISC: tbf as the root qdisc of link `index`, as `tc qdisc replace dev DEV root
    /// handle 1: tbf rate RATE burst BURST latency LATENCY` sends it, without the rate table
    /// (TCA_TBF_RTAB): the kernel has computed rates itself since 3.8 and reads the table
    /// only for a ratespec whose linklayer is unset (before 3.11), and this one is
    /// ethernet. TCA_TBF_PARMS is tc's to the byte; TCA_TBF_BURST makes the kernel derive
    /// its buffer from the burst in bytes rather than from tc's rounded ticks.
    public static func replaceTbf(index: Int32, rate bitsPerSecond: UInt64, burst: UInt32? = nil,
                                  latency: ImpairmentTime? = nil, sequence: UInt32) -> [UInt8] {
        let bytes = bitsPerSecond / 8
        let burst = burst ?? defaultBurst(rate: bitsPerSecond)
        let latency = latency ?? defaultTbfLatency
        return NetlinkBuilder.build(type: UInt16(RTM_NEWQDISC), flags: replaceFlags, sequence: sequence) { nlh in
            putHeader(nlh, index: index, handle: rootHandle, parent: TC_H_ROOT)
            mnl_attr_put_strz(nlh, UInt16(TCA_KIND), "tbf")
            let options = startOptions(nlh)
            var qopt = tc_tbf_qopt()
            // tc_calc_rtable's ratespec for the default MTU 2047: cells of 8 bytes (cell_log 3,
            // the smallest that puts 2047 bytes within the table's 256 cells), cell_align -1.
            qopt.rate.cell_log = 3
            qopt.rate.linklayer = UInt8(TC_LINKLAYER_ETHERNET.rawValue)
            qopt.rate.cell_align = -1
            qopt.rate.rate = UInt32(clamping: bytes)
            // tc: limit = rate × latency + burst, in bytes (doubles, truncated).
            qopt.limit = UInt32(clamping: UInt64(Double(bytes) * Double(latency.microseconds) / 1_000_000 + Double(burst)))
            // tc_calc_xmittime: the burst's time at the (u32) rate in whole microseconds, then ticks.
            let microseconds = UInt64(1_000_000 * (Double(burst) / Double(max(qopt.rate.rate, 1))))
            qopt.buffer = UInt32(clamping: microseconds * 1000 / nanosecondsPerTick)
            mnl_attr_put(nlh, UInt16(TCA_TBF_PARMS), MemoryLayout<tc_tbf_qopt>.size, &qopt)
            mnl_attr_put_u32(nlh, UInt16(TCA_TBF_BURST), burst)
            if bytes > UInt64(UInt32.max) { mnl_attr_put_u64(nlh, UInt16(TCA_TBF_RATE64), bytes) }
            mnl_attr_nest_end(nlh, options)
        }
    }

    /// RTM_DELQDISC of link `index`'s root qdisc, as `tc qdisc del dev DEV root`; the link
    /// falls back to its default qdisc. With none but the default, the kernel answers
    /// ENOENT ("Cannot delete qdisc with handle of zero").
    public static func deleteRoot(index: Int32, sequence: UInt32) -> [UInt8] {
        NetlinkBuilder.build(type: UInt16(RTM_DELQDISC), flags: UInt16(NLM_F_REQUEST | NLM_F_ACK), sequence: sequence) { nlh in
            putHeader(nlh, index: index, handle: 0, parent: TC_H_ROOT)
        }
    }

    /// RTM_GETQDISC dump of every qdisc of every link, as `tc qdisc show`.
    public static func dump(sequence: UInt32) -> [UInt8] {
        NetlinkBuilder.build(type: UInt16(RTM_GETQDISC), flags: UInt16(NLM_F_REQUEST | NLM_F_DUMP), sequence: sequence) { nlh in
            putHeader(nlh, index: 0, handle: 0, parent: 0)
        }
    }

    private static func putHeader(_ nlh: UnsafeMutablePointer<nlmsghdr>, index: Int32, handle: UInt32, parent: UInt32) {
        let tcm = mnl_nlmsg_put_extra_header(nlh, MemoryLayout<tcmsg>.size)!.assumingMemoryBound(to: tcmsg.self)
        tcm.pointee.tcm_family = UInt8(AF_UNSPEC)
        tcm.pointee.tcm_ifindex = index
        tcm.pointee.tcm_handle = handle
        tcm.pointee.tcm_parent = parent
    }

    /// Opens TCA_OPTIONS as tc does: a plain attribute, without the NLA_F_NESTED flag
    /// `mnl_attr_nest_start` would set (netem's payload is not a pure nest); its length is
    /// set by `mnl_attr_nest_end`.
    private static func startOptions(_ nlh: UnsafeMutablePointer<nlmsghdr>) -> UnsafeMutablePointer<nlattr> {
        let start = mnl_nlmsg_get_payload_tail(nlh)!.assumingMemoryBound(to: nlattr.self)
        start.pointee.nla_type = UInt16(TCA_OPTIONS)
        nlh.pointee.nlmsg_len += UInt32(MemoryLayout<nlattr>.size)   // 4, already aligned
        return start
    }

    /// A time in scheduler ticks, as the u32 fields of old carry it (at most ~275 s).
    static func ticks(_ time: ImpairmentTime?) -> UInt32 {
        guard let time else { return 0 }
        return UInt32(clamping: time.nanoseconds / nanosecondsPerTick)
    }
}

extension Replies {
    /// A qdisc of a dump (nil for other messages).
    public static func qdisc(_ bytes: [UInt8]) -> QdiscInfo? {
        bytes.withUnsafeBytes { raw -> QdiscInfo? in
            guard raw.count >= MemoryLayout<nlmsghdr>.size + MemoryLayout<tcmsg>.size else { return nil }
            let nlh = UnsafeMutableRawPointer(mutating: raw.baseAddress!).assumingMemoryBound(to: nlmsghdr.self)
            guard nlh.pointee.nlmsg_type == UInt16(RTM_NEWQDISC), Int(nlh.pointee.nlmsg_len) <= raw.count else { return nil }
            let tcm = mnl_nlmsg_get_payload(nlh)!.assumingMemoryBound(to: tcmsg.self)
            var info = QdiscInfo(index: tcm.pointee.tcm_ifindex, kind: "", handle: tcm.pointee.tcm_handle,
                                 parent: tcm.pointee.tcm_parent, options: [])
            for (type, payload) in attributes(nlh, headerSize: MemoryLayout<tcmsg>.size) {
                switch Int(type) {
                case Int(TCA_KIND): info.kind = string(payload)
                case Int(TCA_OPTIONS): info.options = payload
                default: break
                }
            }
            return info
        }
    }

    /// What netem's TCA_OPTIONS (a `tc_netem_qopt`, then TCA_NETEM_* attributes) applies;
    /// nil when they are malformed. A dump carries every field, zero when unset: zero reads
    /// as not set, and so does netem's default limit of 1000.
    public static func impairment(fromNetem options: [UInt8]) -> Impairment? {
        let size = MemoryLayout<tc_netem_qopt>.size
        guard options.count >= size else { return nil }
        let qopt = options.withUnsafeBytes { $0.loadUnaligned(as: tc_netem_qopt.self) }
        var latency = UInt64(qopt.latency) * QdiscRequests.nanosecondsPerTick
        var jitter = UInt64(qopt.jitter) * QdiscRequests.nanosecondsPerTick
        var reorder: UInt32 = 0, corrupt: UInt32 = 0, rate: UInt64 = 0, rate64: UInt64 = 0
        for (type, payload) in optionAttributes(options, from: (size + 3) & ~3) {
            switch Int(type) {
            case Int(TCA_NETEM_LATENCY64) where payload.count >= 8: latency = UInt64(max(0, load(Int64.self, payload)))
            case Int(TCA_NETEM_JITTER64) where payload.count >= 8: jitter = load(Int64.self, payload).magnitude
            case Int(TCA_NETEM_REORDER) where payload.count >= 4: reorder = load(UInt32.self, payload)
            case Int(TCA_NETEM_CORRUPT) where payload.count >= 4: corrupt = load(UInt32.self, payload)
            case Int(TCA_NETEM_RATE) where payload.count >= 4: rate = UInt64(load(UInt32.self, payload))
            case Int(TCA_NETEM_RATE64) where payload.count >= 8: rate64 = load(UInt64.self, payload)
            default: break
            }
        }
        var impairment = Impairment()
        if latency > 0 { impairment.delay = ImpairmentTime(microseconds: latency / 1000) }
        if jitter > 0 { impairment.jitter = ImpairmentTime(microseconds: jitter / 1000) }
        if qopt.loss > 0 { impairment.loss = Percent(probability: qopt.loss) }
        if qopt.duplicate > 0 { impairment.duplicate = Percent(probability: qopt.duplicate) }
        if corrupt > 0 { impairment.corrupt = Percent(probability: corrupt) }
        if reorder > 0 { impairment.reorder = Percent(probability: reorder) }
        let bytes = max(rate, rate64)   // as the kernel: the larger of the two
        if bytes > 0 { impairment.rate = Rate(bitsPerSecond: bytes * 8) }
        if qopt.limit != QdiscRequests.defaultNetemLimit { impairment.limit = qopt.limit }
        return impairment
    }

    /// The rate tbf's TCA_OPTIONS (TCA_TBF_PARMS, TCA_TBF_RATE64 above u32) applies; nil
    /// when they are malformed.
    public static func impairment(fromTbf options: [UInt8]) -> Impairment? {
        var bytes: UInt64?
        var rate64: UInt64 = 0
        for (type, payload) in optionAttributes(options, from: 0) {
            switch Int(type) {
            case Int(TCA_TBF_PARMS) where payload.count >= MemoryLayout<tc_tbf_qopt>.size:
                bytes = UInt64(payload.withUnsafeBytes { $0.loadUnaligned(as: tc_tbf_qopt.self) }.rate.rate)
            case Int(TCA_TBF_RATE64) where payload.count >= 8: rate64 = load(UInt64.self, payload)
            default: break
            }
        }
        guard let bytes else { return nil }
        var impairment = Impairment()
        impairment.rate = Rate(bitsPerSecond: max(bytes, rate64) * 8)
        return impairment
    }

    /// The attributes of a TCA_OPTIONS payload from `offset` on, walked with libmnl.
    static func optionAttributes(_ bytes: [UInt8], from offset: Int) -> [(UInt16, [UInt8])] {
        guard bytes.count > offset else { return [] }
        // A copy aligned for nlattr, whatever the array's storage.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count - offset, alignment: 8)
        defer { buffer.deallocate() }
        buffer.copyBytes(from: bytes[offset...])
        var result: [(UInt16, [UInt8])] = []
        var attr = buffer.baseAddress!.assumingMemoryBound(to: nlattr.self)
        let end = buffer.baseAddress! + buffer.count
        while mnl_attr_ok(attr, Int32(end - UnsafeMutableRawPointer(attr))) {
            let payload = UnsafeRawBufferPointer(start: mnl_attr_get_payload(attr), count: Int(mnl_attr_get_payload_len(attr)))
            result.append((mnl_attr_get_type(attr), Array(payload)))
            attr = mnl_attr_next(attr)
        }
        return result
    }

    private static func load<T: FixedWidthInteger>(_: T.Type, _ payload: [UInt8]) -> T {
        payload.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
    }
}
