/// What a container used, read from its cgroup just before removal.
public struct CgroupUsage: Equatable, Sendable {
    public var memoryPeak: UInt64?
    public var cpuNanoseconds: UInt64?
    public var pidsPeak: Int?
    public var oomKills: Int = 0
    public var periods: Int?
    public var throttledPeriods: Int?

    public init() {}

    /// Reads the counters through `read(file)` (nil when a file is missing), for either layout.
    public static func collect(layout: CgroupLayout, read: (String) -> String?) -> CgroupUsage {
        var usage = CgroupUsage()
        switch layout {
        case .unified:
            usage.memoryPeak = read("memory.peak").flatMap(number)
            usage.oomKills = read("memory.events").flatMap { keyed($0)["oom_kill"] }.map(Int.init) ?? 0
            if let stat = read("cpu.stat").map(keyed) {
                usage.cpuNanoseconds = stat["usage_usec"].map { $0 * 1000 }
                usage.periods = stat["nr_periods"].map(Int.init)
                usage.throttledPeriods = stat["nr_throttled"].map(Int.init)
            }
        case .legacy:
            usage.memoryPeak = read("memory.max_usage_in_bytes").flatMap(number)
            usage.oomKills = read("memory.oom_control").flatMap { keyed($0)["oom_kill"] }.map(Int.init) ?? 0
            usage.cpuNanoseconds = read("cpuacct.usage").flatMap(number)
            if let stat = read("cpu.stat").map(keyed) {
                usage.periods = stat["nr_periods"].map(Int.init)
                usage.throttledPeriods = stat["nr_throttled"].map(Int.init)
            }
        }
        usage.pidsPeak = read("pids.peak").flatMap(number).map(Int.init)
        return usage
    }

    /// `memory peak 3.1M, cpu 0.02s, pids peak 2, throttled 18/20 periods`
    public var summary: String {
        var parts: [String] = []
        if let memoryPeak { parts.append("memory peak \(ByteSize(bytes: memoryPeak).formatted(exact: false))") }
        if let cpuNanoseconds {
            let hundredths = (cpuNanoseconds + 5_000_000) / 10_000_000
            parts.append("cpu \(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)s")
        }
        if let pidsPeak { parts.append("pids peak \(pidsPeak)") }
        if let periods, let throttledPeriods, throttledPeriods > 0 {
            parts.append("throttled \(throttledPeriods)/\(periods) periods")
        }
        if oomKills > 0 { parts.append("oom-killed") }
        return parts.joined(separator: ", ")
    }

    static func number(_ text: String) -> UInt64? {
        UInt64(text.split(whereSeparator: { $0 == "\n" || $0 == " " }).first ?? "")
    }

    /// `key value` lines (cpu.stat, memory.events, memory.oom_control).
    public static func keyed(_ text: String) -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, let value = UInt64(fields[1]) { result[String(fields[0])] = value }
        }
        return result
    }
}
