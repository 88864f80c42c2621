import Testing
@testable import ContainRuntime

/// --memory-swap, --memory-reservation, --cpu-shares and --cpuset-* on both layouts, and the
/// freezer every v1 container joins.
@Suite struct CgroupPlanResourceTests {
    let limits = ResourceLimits(memory: ByteSize(bytes: 64 << 20), memorySwap: .total(ByteSize(bytes: 96 << 20)),
                                memoryReservation: ByteSize(bytes: 32 << 20), cpuShares: 512, cpusetCPUs: "0-1", cpusetMems: "0")

    @Test func v2SwapIsSwapAloneSharesBecomeAWeightAndCpusetIsEnabledOnlyWhenAsked() throws {
        let layout = CgroupLayout.unified(mountPoint: "/cg", controllers: ["cpu", "cpuset", "memory", "pids"])
        let plan = try CgroupPlan(layout: layout, parent: "contain", id: "x", limits: limits)
        #expect(plan.writes.map { "\($0.path)=\($0.value)" } == [
            "/cg/cgroup.subtree_control=+cpu +cpuset +memory +pids",
            "/cg/contain/cgroup.subtree_control=+cpu +cpuset +memory +pids",
            "/cg/contain/x/memory.max=67108864",
            "/cg/contain/x/memory.swap.max=33554432",
            "/cg/contain/x/memory.low=33554432",
            "/cg/contain/x/cpu.weight=20",
            "/cg/contain/x/cpuset.cpus=0-1",
            "/cg/contain/x/cpuset.mems=0",
        ])
        let plain = try CgroupPlan(layout: layout, parent: "contain", id: "x", limits: ResourceLimits())
        #expect(plain.writes.first?.value == "+cpu +memory +pids")
        var unlimited = ResourceLimits(memory: ByteSize(bytes: 64 << 20))
        unlimited.memorySwap = .unlimited
        #expect(try CgroupPlan(layout: layout, parent: "p", id: "x", limits: unlimited).writes.last?.value == "max")
    }

    @Test func v1JoinsTheFreezerAlwaysAndCpusetOnlyWhenAskedWithInheritedSets() throws {
        let layout = CgroupLayout.legacy(controllers: [
            "memory": "/cg/memory", "cpu": "/cg/cpu", "cpuacct": "/cg/cpuacct", "pids": "/cg/pids",
            "freezer": "/cg/freezer", "cpuset": "/cg/cpuset",
        ])
        let plain = try CgroupPlan(layout: layout, parent: "contain", id: "x", limits: ResourceLimits(), devices: nil)
        #expect(plain.containerDirectories == ["/cg/memory/contain/x", "/cg/cpu/contain/x", "/cg/cpuacct/contain/x",
                                               "/cg/pids/contain/x", "/cg/freezer/contain/x"])
        #expect(plain.cpusetInherit.isEmpty)
        // Mounted inside: what carries limits or accounting; not the freezer (nor devices).
        #expect(plain.v1Hierarchies == ["memory=memory", "cpu=cpu", "cpuacct=cpuacct", "pids=pids"])
        let shared = CgroupLayout.legacy(controllers: ["cpu": "/cg/cpu,cpuacct", "cpuacct": "/cg/cpu,cpuacct", "memory": "/cg/memory"])
        #expect(try CgroupPlan(layout: shared, parent: "c", id: "x", limits: ResourceLimits(), devices: nil).v1Hierarchies
                == ["memory=memory", "cpu,cpuacct=cpu,cpuacct"])
        let plan = try CgroupPlan(layout: layout, parent: "contain/t", id: "x", limits: limits, devices: nil)
        #expect(plan.containerDirectories.last == "/cg/cpuset/contain/t/x")
        #expect(plan.cpusetInherit == ["/cg/cpuset/contain", "/cg/cpuset/contain/t", "/cg/cpuset/contain/t/x"])
        #expect(plan.writes.map { "\($0.path)=\($0.value)" } == [
            "/cg/memory/contain/t/x/memory.limit_in_bytes=67108864",
            "/cg/memory/contain/t/x/memory.memsw.limit_in_bytes=100663296",
            "/cg/memory/contain/t/x/memory.soft_limit_in_bytes=33554432",
            "/cg/cpu/contain/t/x/cpu.shares=512",
            "/cg/cpuset/contain/t/x/cpuset.cpus=0-1",
            "/cg/cpuset/contain/t/x/cpuset.mems=0",
        ])
        // Swap accounting is a boot option on v1: its write is skipped where the file is missing.
        #expect(plan.writes.filter(\.optional).map(\.path) == ["/cg/memory/contain/t/x/memory.memsw.limit_in_bytes"])
    }

    /// OCI hugepageLimits: the hugetlb controller, enabled (v2) or joined (v1) only when asked.
    @Test func hugepageLimitsUseTheHugetlbControllerOnlyWhenAsked() throws {
        var limits = ResourceLimits()
        limits.hugepages = [.init(pageSize: "2MB", limit: 8 << 20), .init(pageSize: "1GB", limit: 0)]
        let v2 = CgroupLayout.unified(mountPoint: "/cg", controllers: ["cpu", "hugetlb", "memory", "pids"])
        #expect(try CgroupPlan(layout: v2, parent: "p", id: "x", limits: limits).writes.map { "\($0.path)=\($0.value)" } == [
            "/cg/cgroup.subtree_control=+cpu +hugetlb +memory +pids",
            "/cg/p/cgroup.subtree_control=+cpu +hugetlb +memory +pids",
            "/cg/p/x/hugetlb.2MB.max=8388608",
            "/cg/p/x/hugetlb.1GB.max=0",
        ])
        let v1 = CgroupLayout.legacy(controllers: ["memory": "/cg/memory", "hugetlb": "/cg/hugetlb"])
        let plan = try CgroupPlan(layout: v1, parent: "p", id: "x", limits: limits, devices: nil)
        #expect(plan.containerDirectories == ["/cg/memory/p/x", "/cg/hugetlb/p/x"])
        #expect(plan.writes.map { "\($0.path)=\($0.value)" } == ["/cg/hugetlb/p/x/hugetlb.2MB.limit_in_bytes=8388608",
                                                                 "/cg/hugetlb/p/x/hugetlb.1GB.limit_in_bytes=0"])
        #expect(try CgroupPlan(layout: v1, parent: "p", id: "x", limits: ResourceLimits(), devices: nil).containerDirectories == ["/cg/memory/p/x"])
        #expect(throws: SpecError.self) {
            try CgroupPlan(layout: CgroupLayout.legacy(controllers: ["memory": "/cg/memory"]), parent: "p", id: "x", limits: limits, devices: nil)
        }
    }

    /// An OCI bundle's container joins every mounted v1 hierarchy, as runc: cpuset with its
    /// sets inherited, blkio, devices without rules; v2 is the one hierarchy either way.
    @Test func everyHierarchyJoinsAllOfV1() throws {
        let layout = CgroupLayout.legacy(controllers: [
            "memory": "/cg/memory", "cpu": "/cg/cpu,cpuacct", "cpuacct": "/cg/cpu,cpuacct", "pids": "/cg/pids",
            "freezer": "/cg/freezer", "cpuset": "/cg/cpuset", "blkio": "/cg/blkio", "devices": "/cg/devices",
        ])
        let plan = try CgroupPlan(layout: layout, parent: "p", id: "x", limits: ResourceLimits(), devices: nil, everyHierarchy: true)
        #expect(plan.containerDirectories == ["/cg/memory/p/x", "/cg/cpu,cpuacct/p/x", "/cg/pids/p/x", "/cg/freezer/p/x",
                                              "/cg/blkio/p/x", "/cg/cpuset/p/x", "/cg/devices/p/x"])
        #expect(plan.cpusetInherit == ["/cg/cpuset/p", "/cg/cpuset/p/x"])
        let v2 = CgroupLayout.unified(mountPoint: "/cg", controllers: ["cpu", "memory", "pids"])
        #expect(try CgroupPlan(layout: v2, parent: "p", id: "x", limits: ResourceLimits(), everyHierarchy: true).containerDirectories == ["/cg/p/x"])
    }

    @Test func v1WithoutCpusetHierarchyIsAClearError() {
        let layout = CgroupLayout.legacy(controllers: ["memory": "/cg/memory"])
        #expect(throws: SpecError("cgroup controller `cpuset` is not available on this host (no v1 hierarchy mounted)")) {
            try CgroupPlan(layout: layout, parent: "contain", id: "x", limits: ResourceLimits(cpusetCPUs: "0"), devices: nil)
        }
    }

    @Test func flagsParseAsDockersAndRefuseWhatItRefuses() throws {
        let memory = ByteSize(bytes: 64 << 20)
        #expect(try ResourceLimits.memorySwap("-1", memory: memory) == .unlimited)
        #expect(try ResourceLimits.memorySwap("128m", memory: memory) == .total(ByteSize(bytes: 128 << 20)))
        #expect(throws: SpecError.self) { try ResourceLimits.memorySwap("32m", memory: memory) }
        #expect(throws: SpecError("--memory-swap needs --memory: it is the total of memory and swap")) {
            try ResourceLimits.memorySwap("1g", memory: nil)
        }
        #expect(try ResourceLimits.memoryReservation("32m", memory: memory) == ByteSize(bytes: 32 << 20))
        #expect(throws: SpecError.self) { try ResourceLimits.memoryReservation("128m", memory: memory) }
        #expect(try ResourceLimits.cpuShares("0") == nil)
        #expect(try ResourceLimits.cpuShares("1024") == 1024)
        #expect(throws: SpecError.self) { try ResourceLimits.cpuShares("1") }
        #expect(throws: SpecError.self) { try ResourceLimits.cpuShares("lots") }
        #expect(ResourceLimits.cpuWeight(shares: 2) == 1)
        #expect(ResourceLimits.cpuWeight(shares: 1024) == 39)
        #expect(ResourceLimits.cpuWeight(shares: 262_144) == 10_000)
        #expect(try ResourceLimits.cpuset("0-1,3", flag: "--cpuset-cpus", available: 4) == "0-1,3")
        for bad in ["", "4", "1-0", "a", "0,,1", "0-1-2", "-1"] {
            #expect(throws: SpecError.self, "\(bad)") { try ResourceLimits.cpuset(bad, flag: "--cpuset-cpus", available: 4) }
        }
    }

    @Test func limitsSurviveTheConfiguration() throws {
        var limits = self.limits
        limits.pids = 9
        #expect(ResourceLimits(ContainerConfig.Linux.Resources(limits: limits)) == limits)
        limits.memorySwap = .unlimited
        #expect(ResourceLimits(ContainerConfig.Linux.Resources(limits: limits)) == limits)
    }
}

@Suite struct SysctlTests {
    @Test func onlyNamespacedParametersAreAccepted() throws {
        #expect(try Sysctls.parse(["net.ipv4.ip_forward=1", "kernel.shmmax=1024", "fs.mqueue.msg_max=20", "kernel.domainname=lab"],
                                  ownNetwork: true, hostNamespaces: [])
                == ["net.ipv4.ip_forward": "1", "kernel.shmmax": "1024", "fs.mqueue.msg_max": "20", "kernel.domainname": "lab"])
        #expect(try Sysctls.parse(["net.ipv4.ping_group_range=0 0"], ownNetwork: true, hostNamespaces: [])
                == ["net.ipv4.ping_group_range": "0 0"])
        for bad in ["vm.swappiness=10", "kernel.hostname=x", "kernel.panic=1", "fs.file-max=1", "net.ipv4.ip_forward", "=1",
                    "net/ipv4/ip_forward=1", "net..x=1", "../x=1"] {
            #expect(throws: SpecError.self, "\(bad)") { try Sysctls.parse([bad], ownNetwork: true, hostNamespaces: []) }
        }
    }

    @Test func aSharedNamespaceRefusesItsParameters() {
        #expect(throws: SpecError.self) { try Sysctls.parse(["net.ipv4.ip_forward=1"], ownNetwork: false, hostNamespaces: []) }
        #expect(throws: SpecError.self) { try Sysctls.parse(["kernel.sem=1 2 3 4"], ownNetwork: true, hostNamespaces: [.ipc]) }
        #expect(throws: SpecError.self) { try Sysctls.parse(["kernel.domainname=x"], ownNetwork: true, hostNamespaces: [.uts]) }
    }

    @Test func pathsAreUnderProcSys() {
        #expect(Sysctls.path(of: "net.ipv4.ip_forward") == "/proc/sys/net/ipv4/ip_forward")
    }

    @Test func theConfigurationGetsDockersNetworkDefaultsAndSharesWhatWasAsked() throws {
        var spec = ContainerSpec(rootfs: "/r", command: ["true"], network: .bridge(network: "contain"))
        spec.sysctls = ["net.ipv4.ip_unprivileged_port_start": "1024"]
        var config = ContainerConfig(spec: spec, id: "0123456789abcdef")
        #expect(config.linux.sysctl == ["net.ipv4.ip_unprivileged_port_start": "1024", "net.ipv4.ping_group_range": "0 2147483647"])
        #expect(config.hostname == "0123456789ab")
        spec = ContainerSpec(rootfs: "/r", command: ["true"], network: .host)
        spec.hostNamespaces = [.pid, .uts]
        config = ContainerConfig(spec: spec, id: "0123456789abcdef")
        #expect(config.linux.sysctl.isEmpty)
        #expect(config.hostname == nil)
        #expect(Set(config.linux.namespaces.map(\.type)) == [.ipc, .mount, .cgroup])
        #expect(config.process.env.contains("HOSTNAME=" + Hostname.current()))
        #expect(!config.process.env.contains { $0.hasPrefix("HOME=") })
    }
}
