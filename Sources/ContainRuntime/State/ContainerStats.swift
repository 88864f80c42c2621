import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// One reading of a running container's counters, from its cgroup (v2 or v1) — `contain stats`.
public struct ContainerStatsSample: Sendable {
    public var cpuNanoseconds: UInt64?
    public var memoryBytes: UInt64?
    public var memoryLimit: UInt64?
    public var pids: UInt64?
    /// Monotonic clock, nanoseconds.
    public var takenAt: UInt64

    /// Reads the counters of the cgroup directories listed in the container's record.
    public static func read(_ view: ContainerView) -> ContainerStatsSample {
        let dirs = ((try? Files.read(view.directory + "/cgroups")) ?? "").split(separator: "\n").map(String.init)
        return read(directories: dirs)
    }

    public static func read(directories dirs: [String]) -> ContainerStatsSample {
        func file(_ name: String) -> String? {
            for dir in dirs { if let text = try? Files.read(dir + "/" + name) { return text } }
            return nil
        }
        func number(_ text: String?) -> UInt64? {
            text.flatMap { UInt64($0.split(separator: "\n").first.map(String.init) ?? "") }
        }
        var sample = ContainerStatsSample(takenAt: StartTimings.now())
        if let stat = file("cpu.stat"), let usec = CgroupUsage.keyed(stat)["usage_usec"] {
            sample.cpuNanoseconds = usec * 1000
        } else {
            sample.cpuNanoseconds = number(file("cpuacct.usage"))
        }
        sample.memoryBytes = number(file("memory.current")) ?? number(file("memory.usage_in_bytes"))
        // "max" on v2 and a huge number on v1 both mean no limit.
        let limit = number(file("memory.max")) ?? number(file("memory.limit_in_bytes"))
        sample.memoryLimit = limit.flatMap { $0 >= UInt64(1) << 62 ? nil : $0 }
        sample.pids = number(file("pids.current"))
        return sample
    }

    /// CPU use between two samples, in percent of one CPU.
    public static func cpuPercent(from a: ContainerStatsSample, to b: ContainerStatsSample) -> Double? {
        guard let x = a.cpuNanoseconds, let y = b.cpuNanoseconds, b.takenAt > a.takenAt, y >= x else { return nil }
        return Double(y - x) / Double(b.takenAt - a.takenAt) * 100
    }
}
