import ContainSystem

/// contain-oci's `update` (runc's): new resource limits for a created or running container,
/// written into its cgroups and kept in its record. What is given replaces; what is not stays.
/// A limit of -1 (memory, swap, pids) lifts it. The device rules are not changed (as runc).
public enum ContainerUpdate {
    public static func apply(_ view: ContainerView, _ change: ContainerConfig.Linux.Resources) throws {
        guard view.isAlive else { throw RunFailure.runtime("container \(view.displayName) is not running") }
        let config = try ContainerRecord.configuration(of: view)
        let merged = merge(config.linux.resources ?? .init(), change)
        let (parent, leaf) = try config.cgroupPlacement(id: view.info.id)
        let layout = try CgroupLayout.detect()
        let plan = try CgroupPlan(layout: layout, parent: parent, id: leaf, limits: ResourceLimits(merged),
                                  devices: config.linux.deviceCgroupRules, everyHierarchy: config.contain.everyCgroupHierarchy)
        let joined = Set(((try? Files.read(view.directory + "/cgroups")) ?? "").split(separator: "\n").map(String.init))
        if let missing = plan.containerDirectories.first(where: { !joined.contains($0) }) {
            // v1's cpuset hierarchy is joined at create only when asked.
            throw RunFailure.runtime("container \(view.displayName) has no cgroup \(missing) (set cpuset at create to change it)")
        }
        var writes = plan.writes.filter { write in
            plan.containerDirectories.contains { write.path.hasPrefix($0 + "/") }
                && !write.path.split(separator: "/").last!.hasPrefix("devices.")
        }
        // Lifted limits, which a plan (made for a new cgroup) leaves unwritten; the plan knows
        // which hierarchy holds each file.
        let unified = layout.isUnified
        if (change.memory?.limit ?? 0) < 0, let path = plan.path(of: unified ? "memory.max" : "memory.limit_in_bytes") {
            writes.append(CgroupPlan.Write(path: path, value: unified ? "max" : "-1"))
        }
        if (change.pids?.limit ?? 0) < 0, let path = plan.path(of: "pids.max") {
            writes.append(CgroupPlan.Write(path: path, value: "max"))
        }
        for write in writes {
            if write.optional && !Files.exists(write.path) { continue }
            try Files.write(write.path, write.value)
        }
        try ContainerRecord.updateConfiguration(of: view) { $0.linux.resources = merged }
    }

    /// `change`'s fields over `current`'s.
    static func merge(_ current: ContainerConfig.Linux.Resources, _ change: ContainerConfig.Linux.Resources) -> ContainerConfig.Linux.Resources {
        var result = current
        if let memory = change.memory {
            var m = result.memory ?? .init()
            if let limit = memory.limit { m.limit = limit < 0 ? nil : limit }
            if let swap = memory.swap { m.swap = swap }
            if let reservation = memory.reservation { m.reservation = reservation }
            result.memory = m
        }
        if let cpu = change.cpu {
            var c = result.cpu ?? .init()
            if let quota = cpu.quota { c.quota = quota }
            if let period = cpu.period { c.period = period }
            if let shares = cpu.shares { c.shares = shares }
            if let cpus = cpu.cpus { c.cpus = cpus }
            if let mems = cpu.mems { c.mems = mems }
            result.cpu = c
        }
        if let pids = change.pids { result.pids = pids.limit < 0 ? nil : pids }
        for page in change.hugepageLimits {
            result.hugepageLimits.removeAll { $0.pageSize == page.pageSize }
            result.hugepageLimits.append(page)
        }
        return result
    }
}
