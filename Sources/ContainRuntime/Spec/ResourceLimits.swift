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
    /// `--memory-swap`: memory plus swap, as docker counts it; `.unlimited` for `-1`.
    public var memorySwap: SwapLimit?
    /// `--memory-reservation`: a soft limit the kernel reclaims toward under pressure.
    public var memoryReservation: ByteSize?
    /// `--cpu-shares`: a relative weight (docker's scale, 2 to 262144, 1024 the default).
    public var cpuShares: UInt64?
    /// `--cpuset-cpus`, `--cpuset-mems`: lists such as `0-2,4`.
    public var cpusetCPUs: String?
    public var cpusetMems: String?
    /// OCI `hugepageLimits`: bytes per page size (`2MB`), in the hugetlb controller.
    public var hugepages: [ContainerConfig.Linux.Resources.HugepageLimit] = []

    public init(memory: ByteSize? = nil, cpu: CPUQuota? = nil, pids: Int? = nil, memorySwap: SwapLimit? = nil,
                memoryReservation: ByteSize? = nil, cpuShares: UInt64? = nil, cpusetCPUs: String? = nil, cpusetMems: String? = nil) {
        self.memory = memory
        self.cpu = cpu
        self.pids = pids
        self.memorySwap = memorySwap
        self.memoryReservation = memoryReservation
        self.cpuShares = cpuShares
        self.cpusetCPUs = cpusetCPUs
        self.cpusetMems = cpusetMems
    }

    /// `--memory-swap`'s value: a total of memory and swap, or no limit on swap.
    public enum SwapLimit: Equatable, Sendable, CustomStringConvertible {
        case total(ByteSize)
        case unlimited

        public var description: String {
            switch self {
            case .total(let size): return size.description
            case .unlimited: return "unlimited"
            }
        }
    }

    /// `--memory-swap SIZE|-1`, checked against `--memory` as docker does: it needs a memory
    /// limit, and covers at least that much.
    public static func memorySwap(_ text: String, memory: ByteSize?) throws(SpecError) -> SwapLimit {
        guard let memory else { throw SpecError("--memory-swap needs --memory: it is the total of memory and swap") }
        if text == "-1" { return .unlimited }
        let size: ByteSize
        do { size = try ByteSize(parsing: text) } catch { throw SpecError("invalid --memory-swap `\(text)`: expected a size such as 512m, or -1 for unlimited swap") }
        guard size >= memory else {
            throw SpecError("invalid --memory-swap `\(text)`: it counts memory and swap together, so it must be at least --memory (\(memory))")
        }
        return .total(size)
    }

    /// `--memory-reservation SIZE`: below `--memory` when both are given.
    public static func memoryReservation(_ text: String, memory: ByteSize?) throws(SpecError) -> ByteSize {
        let size: ByteSize
        do { size = try ByteSize(parsing: text) } catch { throw SpecError("invalid --memory-reservation `\(text)`: expected a size such as 64m") }
        if let memory, size > memory {
            throw SpecError("invalid --memory-reservation `\(text)`: it must be below --memory (\(memory))")
        }
        return size
    }

    /// `--cpu-shares N`: docker passes 0 as "the default"; the kernel takes 2 to 262144.
    public static func cpuShares(_ text: String) throws(SpecError) -> UInt64? {
        guard let n = UInt64(text) else { throw SpecError("invalid --cpu-shares `\(text)`: expected a whole number such as 512") }
        if n == 0 { return nil }
        guard n >= 2 && n <= 262_144 else { throw SpecError("invalid --cpu-shares `\(text)`: the range is 2 to 262144") }
        return n
    }

    /// `--cpuset-cpus 0-2,4`: every CPU named must exist (`available` of them, numbered from 0).
    public static func cpuset(_ text: String, flag: String, available: Int) throws(SpecError) -> String {
        let error = SpecError("invalid \(flag) `\(text)`: expected a list such as 0-2,4 of numbers from 0 to \(available - 1)")
        guard !text.isEmpty else { throw error }
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count == 1 || bounds.count == 2 else { throw error }
            let numbers = bounds.compactMap { Int($0) }
            guard numbers.count == bounds.count, numbers.allSatisfy({ $0 >= 0 && $0 < available }),
                  numbers.count == 1 || numbers[0] <= numbers[1] else { throw error }
        }
        return text
    }

    /// cgroup v2's `cpu.weight` (1-10000) for docker's shares (2-262144), as runc converts it.
    public static func cpuWeight(shares: UInt64) -> UInt64 {
        1 + ((shares - 2) * 9999) / 262_142
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

    public var isEmpty: Bool {
        memory == nil && cpu == nil && pids == nil && memorySwap == nil && memoryReservation == nil && cpuShares == nil
            && cpusetCPUs == nil && cpusetMems == nil && hugepages.isEmpty
    }

    /// `memory=64M cpu=50000/100000 pids=64`, for the progress line.
    public var summary: String {
        var parts: [String] = []
        if let memory { parts.append("memory=\(memory)") }
        if let cpu { parts.append("cpu=\(cpu)") }
        if let pids { parts.append("pids=\(pids)") }
        if let memorySwap { parts.append("memory-swap=\(memorySwap)") }
        if let memoryReservation { parts.append("memory-reservation=\(memoryReservation)") }
        if let cpuShares { parts.append("cpu-shares=\(cpuShares)") }
        if let cpusetCPUs { parts.append("cpuset-cpus=\(cpusetCPUs)") }
        if let cpusetMems { parts.append("cpuset-mems=\(cpusetMems)") }
        for page in hugepages { parts.append("hugetlb.\(page.pageSize)=\(page.limit)") }
        return parts.joined(separator: " ")
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(self.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
