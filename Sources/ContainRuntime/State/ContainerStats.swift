import ContainNetwork
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
    /// Bytes the container received and sent on its bridge network (its veth's host end, seen
    /// the other way round); nil without one.
    public var networkReceived: UInt64?
    public var networkSent: UInt64?
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

    /// One reading of each container, keyed by id; the host's links are listed once for all.
    public static func read(_ views: [ContainerView]) -> [String: ContainerStatsSample] {
        let links = Dictionary(((try? Rtnetlink(transport: MnlSocket()).links()) ?? []).map { ($0.name, $0) },
                               uniquingKeysWith: { a, _ in a })
        var samples: [String: ContainerStatsSample] = [:]
        for view in views {
            var sample = read(view)
            if let stats = links[Endpoint.hostInterfaceName(containerID: view.info.id)]?.stats {
                sample.networkReceived = stats.txBytes
                sample.networkSent = stats.rxBytes
            }
            samples[view.info.id] = sample
        }
        return samples
    }

    /// CPU use between two samples, in percent of one CPU.
    public static func cpuPercent(from a: ContainerStatsSample, to b: ContainerStatsSample) -> Double? {
        guard let x = a.cpuNanoseconds, let y = b.cpuNanoseconds, b.takenAt > a.takenAt, y >= x else { return nil }
        return Double(y - x) / Double(b.takenAt - a.takenAt) * 100
    }
}
