import CContainShim
import ContainSystem

/// Which cgroup hierarchies the host has, found at run time.
///
/// - `unified`: cgroup v2 mounted at /sys/fs/cgroup (the norm on modern distributions).
/// - `legacy`: cgroup v1 or hybrid; each v1 controller has a hierarchy of its own (or shares
///   one, like `cpu,cpuacct`), found in /proc/self/mountinfo.
public enum CgroupLayout: Equatable, Sendable {
    case unified(mountPoint: String, controllers: Set<String>)
    case legacy(controllers: [String: String])

    public static let defaultRoot = "/sys/fs/cgroup"

    public var isUnified: Bool {
        if case .unified = self { return true }
        return false
    }

    /// The v1 controllers contain uses: limits (memory, cpu, pids), accounting (cpuacct) and
    /// the freezer (`contain pause`). The `devices` hierarchy joins them when the container has
    /// device rules, `cpuset` when it asks for CPUs or memory nodes (CgroupPlan).
    public static let v1Controllers = ["memory", "cpu", "cpuacct", "pids", "freezer"]

    private static let knownV1Controllers: Set<String> = [
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "net_cls",
        "net_prio", "perf_event", "hugetlb", "rdma", "misc",
    ]

    public static func detect(root: String = defaultRoot) throws -> CgroupLayout {
        var magic = 0
        try sys("statfs", path: root) { cshim_statfs_type(root, &magic) }
        if magic == Int(CGROUP2_SUPER_MAGIC) {
            let available = try Files.read(root + "/cgroup.controllers")
            return .unified(mountPoint: root, controllers: Set(available.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)))
        }
        return .legacy(controllers: parseV1Mounts(mountinfo: try Files.read("/proc/self/mountinfo")))
    }

    /// controller → mount point, from the `cgroup` lines of /proc/self/mountinfo.
    /// `32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu`
    /// Byte-wise (splitASCII): a Character-wise split on " - " instantiated generic metadata
    /// and broke graphemes for a third of a `--net none` start's instructions. Mount points
    /// with spaces are escaped (`\040`), so the first field that is `-` ends the optional ones.
    public static func parseV1Mounts(mountinfo: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in mountinfo.splitASCII("\n") {
            let fields = line.splitASCII(" ")
            guard let dash = fields.firstIndex(of: "-"), dash >= 5, fields.count >= dash + 4,
                  fields[dash + 1] == "cgroup", fields[3] == "/" else { continue }
            let mountPoint = String(fields[4])
            for option in fields[dash + 3].splitASCII(",") where knownV1Controllers.contains(String(option)) {
                result[String(option), default: mountPoint] = result[String(option)] ?? mountPoint
            }
        }
        return result
    }
}
