/// What creating a container's cgroup means on a given layout: which directories to make and
/// which control files to write, in order. Pure, so both layouts are tested without a kernel.
///
/// |                | cgroup v2 (`<root>/<parent>/<id>`) | cgroup v1 (`<root>/<controller>/<parent>/<id>`) |
/// |----------------|------------------------------------|--------------------------------------------------|
/// | memory         | `memory.max`                       | `memory.limit_in_bytes`                          |
/// | memory-swap    | `memory.swap.max` (swap alone)     | `memory.memsw.limit_in_bytes` (if swap accounting) |
/// | reservation    | `memory.low`                       | `memory.soft_limit_in_bytes`                     |
/// | cpu            | `cpu.max` = `"50000 100000"`       | `cpu.cfs_period_us`, `cpu.cfs_quota_us`          |
/// | cpu-shares     | `cpu.weight` (runc's conversion)   | `cpu.shares`                                     |
/// | cpuset         | `cpuset.cpus`, `cpuset.mems`       | the same, in the cpuset hierarchy (joined only when asked; new parents inherit their parent's sets) |
/// | pids           | `pids.max`                         | `pids.max`                                       |
/// | hugetlb        | `hugetlb.<size>.max` (`+hugetlb` when asked) | `hugetlb.<size>.limit_in_bytes` (joined only when asked) |
/// | freezer        | `cgroup.freeze` (always there)     | the freezer hierarchy, always joined (pause)     |
/// | join           | `cgroup.procs`                     | `cgroup.procs` in every hierarchy                |
/// | controllers on | `+memory +cpu +pids` (`+cpuset` when asked) in ancestors' `cgroup.subtree_control` | (always on) |
/// | devices        | an eBPF program attached to the directory (`deviceProgram`) | `a` to `devices.deny`, then one rule per write to `devices.allow` |
///
/// The device rules default to docker's (`DeviceRules.dockerDefault`); nil means no device
/// restriction at all (`--privileged`): no program on v2, no `devices` cgroup on v1.
public struct CgroupPlan: Equatable, Sendable {
    public struct Write: Equatable, Sendable {
        public let path: String
        public let value: String
        /// Skipped when the kernel has no such file (v1's swap accounting is a boot option).
        public var optional = false
    }

    public let layout: CgroupLayout
    /// Directories that may already exist (the shared parent, e.g. `contain`), outermost first.
    public let parentDirectories: [String]
    /// The container's own directories, one per hierarchy; created new, removed at the end.
    public let containerDirectories: [String]
    public let writes: [Write]
    /// cgroup v1's cpuset: directories, outermost first, whose empty `cpuset.cpus` and
    /// `cpuset.mems` are filled from their parent's before anything joins (v1 starts them empty).
    public let cpusetInherit: [String]
    /// What the device rules came to; nil when every device is allowed.
    public let devices: DeviceFilter?
    /// cgroup v2: the device filter to attach to the container's directory once it exists.
    public let deviceProgram: DeviceFilterProgram?

    /// `everyHierarchy` (an OCI bundle's container, as runc places it): on v1, every mounted
    /// hierarchy is joined (blkio, cpuset, net_cls ...), not only those contain uses.
    public init(layout: CgroupLayout, parent: String, id: String, limits: ResourceLimits,
                devices rules: [ContainerConfig.Linux.DeviceRule]? = DeviceRules.dockerDefault,
                everyHierarchy: Bool = false) throws(SpecError) {
        self.layout = layout
        var filter: DeviceFilter?
        if let rules {
            let read = try DeviceFilter(rules: rules)
            filter = read.allowsEverything ? nil : read
        }
        devices = filter
        var program: DeviceFilterProgram?
        let parentComponents = parent.split(separator: "/").map(String.init)
        var parents: [String] = []
        var dirs: [String] = []
        var writes: [Write] = []
        var inherit: [String] = []
        let cpuset = limits.cpusetCPUs != nil || limits.cpusetMems != nil
        let hugetlb = !limits.hugepages.isEmpty
        let needed = [("memory", limits.memory != nil || limits.memorySwap != nil || limits.memoryReservation != nil),
                      ("cpu", limits.cpu != nil || limits.cpuShares != nil), ("pids", limits.pids != nil), ("cpuset", cpuset),
                      ("hugetlb", hugetlb)]

        switch layout {
        case .unified(let root, let available):
            var wanted = ["memory", "cpu", "pids"].filter { available.contains($0) } + (cpuset ? ["cpuset"] : []) + (hugetlb ? ["hugetlb"] : [])
            for (controller, needed) in needed where needed && !available.contains(controller) {
                throw SpecError("cgroup controller `\(controller)` is not available on this host (cgroup v2 at \(root))")
            }
            wanted.sort()
            let enable = wanted.map { "+" + $0 }.joined(separator: " ")
            var level = root
            for component in parentComponents {
                if !enable.isEmpty { writes.append(Write(path: level + "/cgroup.subtree_control", value: enable)) }
                level += "/" + component
                parents.append(level)
            }
            if !enable.isEmpty { writes.append(Write(path: level + "/cgroup.subtree_control", value: enable)) }
            let dir = level + "/" + id
            dirs.append(dir)
            if let memory = limits.memory { writes.append(Write(path: dir + "/memory.max", value: "\(memory.bytes)")) }
            if let cpu = limits.cpu { writes.append(Write(path: dir + "/cpu.max", value: cpu.cpuMax)) }
            if let pids = limits.pids { writes.append(Write(path: dir + "/pids.max", value: "\(pids)")) }
            if let swap = limits.memorySwap {
                // v2 limits swap alone; docker's value counts memory too.
                let value: String
                switch swap {
                case .unlimited: value = "max"
                case .total(let total): value = "\(total.bytes - (limits.memory?.bytes ?? 0))"
                }
                writes.append(Write(path: dir + "/memory.swap.max", value: value))
            }
            if let reservation = limits.memoryReservation { writes.append(Write(path: dir + "/memory.low", value: "\(reservation.bytes)")) }
            if let shares = limits.cpuShares {
                writes.append(Write(path: dir + "/cpu.weight", value: "\(ResourceLimits.cpuWeight(shares: shares))"))
            }
            if let cpus = limits.cpusetCPUs { writes.append(Write(path: dir + "/cpuset.cpus", value: cpus)) }
            if let mems = limits.cpusetMems { writes.append(Write(path: dir + "/cpuset.mems", value: mems)) }
            for page in limits.hugepages { writes.append(Write(path: dir + "/hugetlb.\(page.pageSize).max", value: "\(page.limit)")) }
            program = filter.map(DeviceFilterProgram.init)

        case .legacy(let controllers):
            for (controller, needed) in needed where needed && controllers[controller] == nil {
                throw SpecError("cgroup controller `\(controller)` is not available on this host (no v1 hierarchy mounted)")
            }
            if filter != nil && controllers["devices"] == nil {
                throw SpecError("cgroup controller `devices` is not available on this host (no v1 hierarchy mounted), so the device rules cannot be enforced")
            }
            var seen = Set<String>()
            for controller in CgroupLayout.v1Controllers + (filter != nil ? ["devices"] : []) + (cpuset ? ["cpuset"] : [])
                + (hugetlb ? ["hugetlb"] : []) + (everyHierarchy ? controllers.keys.sorted() : []) {
                guard let mountPoint = controllers[controller], seen.insert(mountPoint).inserted else { continue }
                var level = mountPoint
                for component in parentComponents {
                    level += "/" + component
                    parents.append(level)
                    if controller == "cpuset" { inherit.append(level) }
                }
                dirs.append(level + "/" + id)
                if controller == "cpuset" { inherit.append(level + "/" + id) }
            }
            func dir(_ controller: String) -> String? {
                controllers[controller].map { $0 + "/" + parent + "/" + id }
            }
            if let memory = limits.memory, let d = dir("memory") {
                writes.append(Write(path: d + "/memory.limit_in_bytes", value: "\(memory.bytes)"))
            }
            if let cpu = limits.cpu, let d = dir("cpu") {
                writes.append(Write(path: d + "/cpu.cfs_period_us", value: "\(cpu.period)"))
                writes.append(Write(path: d + "/cpu.cfs_quota_us", value: "\(cpu.quota)"))
            }
            if let pids = limits.pids, let d = dir("pids") {
                writes.append(Write(path: d + "/pids.max", value: "\(pids)"))
            }
            if let d = dir("memory") {
                if let swap = limits.memorySwap {
                    let value: String
                    switch swap {
                    case .unlimited: value = "-1"
                    case .total(let total): value = "\(total.bytes)"
                    }
                    writes.append(Write(path: d + "/memory.memsw.limit_in_bytes", value: value, optional: true))
                }
                if let reservation = limits.memoryReservation {
                    writes.append(Write(path: d + "/memory.soft_limit_in_bytes", value: "\(reservation.bytes)"))
                }
            }
            if let shares = limits.cpuShares, let d = dir("cpu") { writes.append(Write(path: d + "/cpu.shares", value: "\(shares)")) }
            if let d = dir("cpuset") {
                if let cpus = limits.cpusetCPUs { writes.append(Write(path: d + "/cpuset.cpus", value: cpus)) }
                if let mems = limits.cpusetMems { writes.append(Write(path: d + "/cpuset.mems", value: mems)) }
            }
            if let d = dir("hugetlb") {
                for page in limits.hugepages { writes.append(Write(path: d + "/hugetlb.\(page.pageSize).limit_in_bytes", value: "\(page.limit)")) }
            }
            if let filter, let d = dir("devices") {
                for (file, line) in filter.v1Lines { writes.append(Write(path: d + "/" + file, value: line)) }
            }
        }
        parentDirectories = parents
        containerDirectories = dirs
        self.writes = writes
        cpusetInherit = inherit
        deviceProgram = program
    }

    /// cgroup v1: each hierarchy the container joined that carries limits or accounting
    /// (memory, cpu, cpuacct, pids, cpuset: what runtimes inside read) as `NAME=CONTROLLERS`,
    /// NAME the hierarchy's directory under the cgroup root (`cpu,cpuacct`) and CONTROLLERS its
    /// mount options; empty on v2. The freezer and devices hierarchies are left out: nothing
    /// inside reads them, and each mount costs ~2 ms when many containers start at once
    /// (mount(2) serializes on the namespace lock; bench/notes.md).
    public var v1Hierarchies: [String] {
        guard case .legacy(let controllers) = layout else { return [] }
        let read: Set<String> = ["memory", "cpu", "cpuacct", "pids", "cpuset"]
        return containerDirectories.compactMap { dir in
            guard let mountPoint = Set(controllers.values).first(where: { dir.hasPrefix($0 + "/") }) else { return nil }
            let name = String(mountPoint[mountPoint.index(after: mountPoint.lastIndex(of: "/")!)...])
            let names = controllers.filter { $0.value == mountPoint }.keys.sorted()
            guard names.contains(where: read.contains) else { return nil }
            return name + "=" + names.joined(separator: ",")
        }
    }

    /// Where a control file lives: on v1 the hierarchy is picked by the file's controller prefix
    /// (`cpuacct.usage` → the cpuacct hierarchy), on v2 every file is in the one directory.
    public func path(of file: String) -> String? {
        switch layout {
        case .unified:
            return containerDirectories.first.map { $0 + "/" + file }
        case .legacy(let controllers):
            let controller = String(file.prefix(while: { $0 != "." }))
            guard let mountPoint = controllers[controller] else { return nil }
            return containerDirectories.first(where: { $0.hasPrefix(mountPoint + "/") }).map { $0 + "/" + file }
        }
    }
}
