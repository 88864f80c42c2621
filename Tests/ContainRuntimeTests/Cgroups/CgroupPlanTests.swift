import ContainSystem
import Glibc
import Testing
@testable import ContainRuntime

/// The plans are pure: both layouts are checked here without a kernel.
@Suite struct CgroupPlanTests {
    let limits = ResourceLimits(memory: ByteSize(bytes: 64 << 20), cpu: CPUQuota(quota: 50000), pids: 64)

    @Test func v2WritesMaxFilesAndEnablesControllersOnEveryAncestor() throws {
        let layout = CgroupLayout.unified(mountPoint: "/sys/fs/cgroup", controllers: ["cpu", "memory", "pids", "io"])
        let plan = try CgroupPlan(layout: layout, parent: "contain/tests", id: "abc", limits: limits)
        #expect(plan.parentDirectories == ["/sys/fs/cgroup/contain", "/sys/fs/cgroup/contain/tests"])
        #expect(plan.containerDirectories == ["/sys/fs/cgroup/contain/tests/abc"])
        #expect(plan.writes.map { "\($0.path)=\($0.value)" } == [
            "/sys/fs/cgroup/cgroup.subtree_control=+cpu +memory +pids",
            "/sys/fs/cgroup/contain/cgroup.subtree_control=+cpu +memory +pids",
            "/sys/fs/cgroup/contain/tests/cgroup.subtree_control=+cpu +memory +pids",
            "/sys/fs/cgroup/contain/tests/abc/memory.max=67108864",
            "/sys/fs/cgroup/contain/tests/abc/cpu.max=50000 100000",
            "/sys/fs/cgroup/contain/tests/abc/pids.max=64",
        ])
        #expect(plan.path(of: "memory.peak") == "/sys/fs/cgroup/contain/tests/abc/memory.peak")
        // Docker's device rules by default: on v2 a program to attach, no file to write.
        #expect(plan.devices == (try DeviceFilter(rules: DeviceRules.dockerDefault)))
        #expect(plan.deviceProgram == DeviceFilterProgram(filter: try DeviceFilter(rules: DeviceRules.dockerDefault)))
    }

    @Test func v2WithoutDeviceRulesHasNoProgram() throws {
        let layout = CgroupLayout.unified(mountPoint: "/cg", controllers: ["memory", "pids"])
        for rules in [nil, [ContainerConfig.Linux.DeviceRule(allow: true, type: "a", access: "rwm")]] {
            let plan = try CgroupPlan(layout: layout, parent: "contain", id: "x", limits: ResourceLimits(), devices: rules)
            #expect(plan.devices == nil)
            #expect(plan.deviceProgram == nil)
        }
    }

    @Test func v2WithoutLimitsStillEnablesAccounting() throws {
        let layout = CgroupLayout.unified(mountPoint: "/cg", controllers: ["memory", "pids"])
        let plan = try CgroupPlan(layout: layout, parent: "contain", id: "x", limits: ResourceLimits())
        #expect(plan.writes.map(\.value) == ["+memory +pids", "+memory +pids"])
    }

    @Test func v2MissingControllerIsAClearError() {
        let layout = CgroupLayout.unified(mountPoint: "/cg", controllers: ["memory"])
        #expect(throws: SpecError("cgroup controller `pids` is not available on this host (cgroup v2 at /cg)")) {
            try CgroupPlan(layout: layout, parent: "contain", id: "x", limits: ResourceLimits(pids: 3))
        }
    }

    @Test func v1WritesEachControllersFilesInItsOwnHierarchy() throws {
        let layout = CgroupLayout.legacy(controllers: [
            "memory": "/cg/memory", "cpu": "/cg/cpu,cpuacct", "cpuacct": "/cg/cpu,cpuacct", "pids": "/cg/pids",
            "devices": "/cg/devices",
        ])
        let plan = try CgroupPlan(layout: layout, parent: "contain", id: "abc", limits: limits)
        // cpu and cpuacct share one hierarchy: one directory for both.
        #expect(plan.containerDirectories == ["/cg/memory/contain/abc", "/cg/cpu,cpuacct/contain/abc", "/cg/pids/contain/abc",
                                              "/cg/devices/contain/abc"])
        #expect(plan.parentDirectories == ["/cg/memory/contain", "/cg/cpu,cpuacct/contain", "/cg/pids/contain", "/cg/devices/contain"])
        // Docker's device rules by default: deny everything, then one allowed rule per write.
        #expect(plan.writes.map { "\($0.path)=\($0.value)" } == [
            "/cg/memory/contain/abc/memory.limit_in_bytes=67108864",
            "/cg/cpu,cpuacct/contain/abc/cpu.cfs_period_us=100000",
            "/cg/cpu,cpuacct/contain/abc/cpu.cfs_quota_us=50000",
            "/cg/pids/contain/abc/pids.max=64",
            "/cg/devices/contain/abc/devices.deny=a",
            "/cg/devices/contain/abc/devices.allow=c *:* m",
            "/cg/devices/contain/abc/devices.allow=b *:* m",
            "/cg/devices/contain/abc/devices.allow=c 1:3 rwm",
            "/cg/devices/contain/abc/devices.allow=c 1:5 rwm",
            "/cg/devices/contain/abc/devices.allow=c 1:7 rwm",
            "/cg/devices/contain/abc/devices.allow=c 1:8 rwm",
            "/cg/devices/contain/abc/devices.allow=c 1:9 rwm",
            "/cg/devices/contain/abc/devices.allow=c 5:0 rwm",
            "/cg/devices/contain/abc/devices.allow=c 5:1 rwm",
            "/cg/devices/contain/abc/devices.allow=c 5:2 rwm",
            "/cg/devices/contain/abc/devices.allow=c 136:* rwm",
            "/cg/devices/contain/abc/devices.allow=c 10:200 rwm",
        ])
        #expect(plan.deviceProgram == nil)
        #expect(plan.path(of: "devices.list") == "/cg/devices/contain/abc/devices.list")
        #expect(plan.path(of: "cpuacct.usage") == "/cg/cpu,cpuacct/contain/abc/cpuacct.usage")
        #expect(plan.path(of: "pids.peak") == "/cg/pids/contain/abc/pids.peak")
        #expect(plan.path(of: "freezer.state") == nil)
    }

    @Test func v1WithoutDeviceRulesHasNoDevicesCgroup() throws {
        let layout = CgroupLayout.legacy(controllers: ["pids": "/cg/pids", "devices": "/cg/devices"])
        let plan = try CgroupPlan(layout: layout, parent: "contain", id: "x", limits: ResourceLimits(pids: 5), devices: nil)
        #expect(plan.containerDirectories == ["/cg/pids/contain/x"])
        #expect(plan.writes.map(\.path) == ["/cg/pids/contain/x/pids.max"])
    }

    @Test func v1MissingDevicesHierarchyIsAClearErrorWhenRulesAreWanted() throws {
        let layout = CgroupLayout.legacy(controllers: ["pids": "/cg/pids"])
        #expect(throws: SpecError("cgroup controller `devices` is not available on this host (no v1 hierarchy mounted), so the device rules cannot be enforced")) {
            try CgroupPlan(layout: layout, parent: "contain", id: "x", limits: ResourceLimits())
        }
        #expect(throws: Never.self) { try CgroupPlan(layout: layout, parent: "contain", id: "x", limits: ResourceLimits(), devices: nil) }
    }

    @Test func badDeviceRulesFailThePlan() {
        let layout = CgroupLayout.unified(mountPoint: "/cg", controllers: ["pids"])
        #expect(throws: SpecError("device rule type `q` must be `a`, `c` or `b`")) {
            try CgroupPlan(layout: layout, parent: "contain", id: "x", limits: ResourceLimits(),
                           devices: [ContainerConfig.Linux.DeviceRule(allow: true, type: "q")])
        }
    }

    @Test func v1MissingHierarchyIsAClearError() {
        let layout = CgroupLayout.legacy(controllers: ["cpu": "/cg/cpu"])
        #expect(throws: SpecError("cgroup controller `memory` is not available on this host (no v1 hierarchy mounted)")) {
            try CgroupPlan(layout: layout, parent: "contain", id: "x", limits: ResourceLimits(memory: ByteSize(bytes: 8 << 20)))
        }
    }
}

/// The plans applied by ContainerCgroup to fake cgroup trees in temporary directories.
@Suite struct ContainerCgroupFakeTreeTests {
    let limits = ResourceLimits(memory: ByteSize(bytes: 16 << 20), cpu: CPUQuota(quota: 20000), pids: 8)

    @Test func v2Tree() throws {
        try withTemporaryDirectory { root in
            try Files.write(root + "/cgroup.controllers", "cpuset cpu io memory pids\n", create: true)
            try Files.write(root + "/cgroup.subtree_control", "", create: true)
            let plan = try CgroupPlan(layout: .unified(mountPoint: root, controllers: ["cpu", "memory", "pids"]),
                                      parent: "contain", id: "c1", limits: limits)
            var attached: [(DeviceFilterProgram, String)] = []
            let cgroup = ContainerCgroup(plan: plan, createsControlFiles: true) { attached.append(($0, $1)) }
            try cgroup.create()
            // The device filter goes onto the container's own directory, once.
            #expect(attached.map(\.1) == [root + "/contain/c1"])
            #expect(attached.first?.0 == plan.deviceProgram)
            #expect(try Files.read(root + "/cgroup.subtree_control") == "+cpu +memory +pids")
            #expect(try Files.read(root + "/contain/cgroup.subtree_control") == "+cpu +memory +pids")
            #expect(try Files.read(root + "/contain/c1/memory.max") == "16777216")
            #expect(try Files.read(root + "/contain/c1/cpu.max") == "20000 100000")
            #expect(try Files.read(root + "/contain/c1/pids.max") == "8")
            try cgroup.add(pid: 4242)
            #expect(try Files.read(root + "/contain/c1/cgroup.procs") == "4242")

            try Files.write(root + "/contain/c1/memory.peak", "3250000\n", create: true)
            try Files.write(root + "/contain/c1/memory.events", "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n", create: true)
            try Files.write(root + "/contain/c1/cpu.stat", "usage_usec 215000\nuser_usec 200000\nnr_periods 11\nnr_throttled 10\n", create: true)
            try Files.write(root + "/contain/c1/pids.peak", "5\n", create: true)
            #expect(cgroup.usage().summary == "memory peak 3.1M, cpu 0.22s, pids peak 5, throttled 10/11 periods, oom-killed")
        }
    }

    @Test func v1Tree() throws {
        try withTemporaryDirectory { root in
            for hierarchy in ["memory", "cpu,cpuacct", "pids", "devices"] { try Files.makeDirectory(root + "/" + hierarchy) }
            let mountinfo = """
                30 25 0:26 / \(root)/memory rw,nosuid - cgroup cgroup rw,memory
                31 25 0:27 / \(root)/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
                32 25 0:28 / \(root)/pids rw,nosuid - cgroup cgroup rw,pids
                33 25 0:29 / \(root)/devices rw,nosuid - cgroup cgroup rw,devices
                """
            let layout = CgroupLayout.legacy(controllers: CgroupLayout.parseV1Mounts(mountinfo: mountinfo))
            let plan = try CgroupPlan(layout: layout, parent: "contain", id: "c1", limits: limits)
            let cgroup = ContainerCgroup(plan: plan, createsControlFiles: true) { _, _ in Issue.record("no program on v1") }
            try cgroup.create()
            // Each rule is its own write; a plain file keeps only the last one (the order is the
            // plan's, checked above).
            #expect(try Files.read(root + "/devices/contain/c1/devices.deny") == "a")
            #expect(try Files.read(root + "/devices/contain/c1/devices.allow") == "c 10:200 rwm")
            #expect(try Files.read(root + "/memory/contain/c1/memory.limit_in_bytes") == "16777216")
            #expect(try Files.read(root + "/cpu,cpuacct/contain/c1/cpu.cfs_quota_us") == "20000")
            #expect(try Files.read(root + "/cpu,cpuacct/contain/c1/cpu.cfs_period_us") == "100000")
            #expect(try Files.read(root + "/pids/contain/c1/pids.max") == "8")
            try cgroup.add(pid: 77)
            for hierarchy in ["memory", "cpu,cpuacct", "pids", "devices"] {
                #expect(try Files.read(root + "/\(hierarchy)/contain/c1/cgroup.procs") == "77")
            }
            try Files.write(root + "/memory/contain/c1/memory.max_usage_in_bytes", "2097152\n", create: true)
            try Files.write(root + "/memory/contain/c1/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", create: true)
            try Files.write(root + "/cpu,cpuacct/contain/c1/cpuacct.usage", "1234567890\n", create: true)
            try Files.write(root + "/cpu,cpuacct/contain/c1/cpu.stat", "nr_periods 3\nnr_throttled 0\nthrottled_time 0\n", create: true)
            try Files.write(root + "/pids/contain/c1/pids.peak", "2\n", create: true)
            #expect(cgroup.usage().summary == "memory peak 2M, cpu 1.23s, pids peak 2")
        }
    }

    @Test func creationFailureRemovesWhatItMade() throws {
        // The limit file cannot be written (as on a cgroupfs without the controller): the
        // container's directory goes again, the shared parent stays.
        try withTemporaryDirectory { root in
            try Files.makeDirectory(root + "/contain")
            try Files.write(root + "/cgroup.subtree_control", "", create: true)
            try Files.write(root + "/contain/cgroup.subtree_control", "", create: true)
            let plan = try CgroupPlan(layout: .unified(mountPoint: root, controllers: ["pids"]),
                                      parent: "contain", id: "c1", limits: ResourceLimits(pids: 4))
            #expect(throws: SystemError.self) { try ContainerCgroup(plan: plan).create() }
            #expect(!Files.exists(root + "/contain/c1"))
            #expect(Files.exists(root + "/contain"))
        }
    }

    @Test func aDeviceFilterTheKernelRefusesUndoesTheCgroup() throws {
        try withTemporaryDirectory { root in
            try Files.write(root + "/cgroup.subtree_control", "", create: true)
            let plan = try CgroupPlan(layout: .unified(mountPoint: root, controllers: ["pids"]),
                                      parent: "contain", id: "c1", limits: ResourceLimits())
            let cgroup = ContainerCgroup(plan: plan, createsControlFiles: true) { _, dir in
                throw SystemError("bpf(BPF_PROG_LOAD) device filter", path: dir, errno: EPERM)
            }
            #expect(throws: SystemError("bpf(BPF_PROG_LOAD) device filter", path: root + "/contain/c1", errno: EPERM)) {
                try cgroup.create()
            }
            #expect(!Files.exists(root + "/contain/c1"))
        }
    }
}

@Suite struct CgroupLayoutTests {
    @Test func parsesTheV1HierarchiesOfAHybridHost() {
        let mountinfo = """
            24 30 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
            25 24 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
            26 24 0:24 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,name=systemd
            29 24 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct
            30 24 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory
            31 24 0:29 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids
            40 24 0:29 /docker/abc /mnt/pids-bind rw - cgroup cgroup rw,pids
            41 24 0:30 / /mnt/with\\040space rw,relatime shared:17 master:2 - cgroup cgroup rw,freezer
            42 24 0:31 / /mnt/short rw - cgroup cgroup
            43 24 0:32 / - cgroup cgroup rw,devices
            """
        #expect(CgroupLayout.parseV1Mounts(mountinfo: mountinfo) == [
            "cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
            "memory": "/sys/fs/cgroup/memory", "pids": "/sys/fs/cgroup/pids", "freezer": "/mnt/with\\040space",
        ])
    }
}

func withTemporaryDirectory(_ body: (String) throws -> Void) throws {
    var template = Array("/tmp/contain-test.XXXXXX".utf8CString)
    let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    defer { try? Files.removeTree(dir) }
    try body(dir)
}
