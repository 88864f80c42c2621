/// CPU bandwidth: `quota` microseconds of CPU time per `period` (100 ms).
public struct CPUQuota: Equatable, Sendable, CustomStringConvertible {
    public static let period: Int = 100_000
    /// The kernel refuses quotas below 1 ms.
    public static let minimumQuota: Int = 1_000

    public let quota: Int
    public var period: Int { Self.period }

    init(quota: Int) { self.quota = quota }

    /// `--cpu 50000`: a quota in microseconds per 100000 us period.
    public init(quotaText text: String) throws(SpecError) {
        guard let q = Int(text), q >= Self.minimumQuota else {
            throw SpecError("invalid --cpu `\(text)`: expected a quota in microseconds per 100000 us period, at least \(Self.minimumQuota)")
        }
        quota = q
    }

    /// `--cpus 1.5`: docker's form, a number of CPUs, at most the CPUs the host has.
    public init(cpusText text: String, availableCPUs: Int) throws(SpecError) {
        guard let cpus = Double(text), cpus.isFinite,
              cpus * Double(Self.period) >= Double(Self.minimumQuota), cpus <= Double(availableCPUs) else {
            throw SpecError("invalid --cpus `\(text)`: the range is 0.01 to \(availableCPUs) (CPUs on this host)")
        }
        quota = Int((cpus * Double(Self.period)).rounded())
    }

    /// The value of cgroup v2's `cpu.max`.
    public var cpuMax: String { "\(quota) \(period)" }
    public var description: String { "\(quota)/\(period)" }
}

public struct ResourceLimits: Equatable, Sendable {
    /// docker's floor: below this a container cannot even start its command.
    public static let minimumMemory = ByteSize(bytes: 6 << 20)

    public var memory: ByteSize?
    public var cpu: CPUQuota?
    public var pids: Int?

    public init(memory: ByteSize? = nil, cpu: CPUQuota? = nil, pids: Int? = nil) {
        self.memory = memory
        self.cpu = cpu
        self.pids = pids
    }

    public static func memory(_ text: String) throws(SpecError) -> ByteSize {
        let size: ByteSize
        do { size = try ByteSize(parsing: text) } catch { throw SpecError("invalid --memory `\(text)`: \(error.description.split(separator: ":", maxSplits: 1).last.map { $0.trimmingSpaces } ?? "")") }
        guard size >= minimumMemory else {
            throw SpecError("invalid --memory `\(text)`: the minimum is \(minimumMemory)")
        }
        return size
    }

    public static func pids(_ text: String) throws(SpecError) -> Int {
        guard let n = Int(text), n >= 1 else {
            throw SpecError("invalid --pids `\(text)`: expected a whole number of processes, at least 1")
        }
        return n
    }

    public var isEmpty: Bool { memory == nil && cpu == nil && pids == nil }

    /// `memory=64M cpu=50000/100000 pids=64`, for the progress line.
    public var summary: String {
        var parts: [String] = []
        if let memory { parts.append("memory=\(memory)") }
        if let cpu { parts.append("cpu=\(cpu)") }
        if let pids { parts.append("pids=\(pids)") }
        return parts.joined(separator: " ")
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(self.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
