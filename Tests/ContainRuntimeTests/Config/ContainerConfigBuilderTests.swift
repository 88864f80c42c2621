import ContainNetwork
import Testing
@testable import ContainRuntime

@Suite struct ContainerConfigBuilderTests {
    static let id = "0123456789abcdef0123"

    @Test func aBridgedRunWithLimitsVolumesAndAUser() throws {
        var spec = ContainerSpec(rootfs: "./rootfs", command: ["/bin/httpd", "-f"], hostname: "web",
                                 limits: ResourceLimits(memory: try ResourceLimits.memory("64M"),
                                                        cpu: try CPUQuota(quotaText: "50000"), pids: 64),
                                 network: try NetworkMode(parsing: "bridge"), environment: ["A=1", "HOME=/srv"],
                                 cgroupParent: "contain/tests")
        spec.name = "web-1"
        spec.address = IPv4Address("10.88.0.5")
        spec.dns = [IPv4Address("1.1.1.1")!]
        spec.ports = [try PortMapping(parsing: "8080:80"), try PortMapping(parsing: "127.0.0.1:5353:53/udp")]
        spec.volumes = [try VolumeSpec(parsing: "/data:/srv/data"), try VolumeSpec(parsing: "/logs:/var/log:ro")]
        spec.user = try UserSpec(parsing: "www:staff")
        spec.workdir = "/srv"
        spec.readOnlyRoot = true
        spec.runInit = true
        spec.removeWhenDone = true

        let config = ContainerConfig(spec: spec, id: Self.id, rootfs: "/home/me/rootfs", term: "xterm")
        var expected = ContainerConfig(
            process: .init(user: .init(username: "www", groupname: "staff"), args: ["/bin/httpd", "-f"],
                           env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=web",
                                 "TERM=xterm", "A=1", "HOME=/srv"],
                           cwd: "/srv"),
            root: .init(path: "/home/me/rootfs", readonly: true),
            hostname: "web",
            mounts: [.init(destination: "/srv/data", type: "bind", source: "/data", options: ["rbind"]),
                     .init(destination: "/var/log", type: "bind", source: "/logs", options: ["rbind", "ro"])],
            linux: .init(namespaces: [.init(type: .pid), .init(type: .ipc), .init(type: .uts), .init(type: .mount),
                                      .init(type: .cgroup), .init(type: .network)],
                         resources: .init(memory: .init(limit: 64 << 20), cpu: .init(quota: 50_000, period: 100_000),
                                          pids: .init(limit: 64)),
                         cgroupsPath: "contain/tests/" + Self.id, sysctl: Sysctls.networkDefaults),
            contain: .init(networkMode: .bridge(network: "contain"),
                           networkAttachments: [.init(network: "contain", address: "10.88.0.5",
                                                      ports: ["8080:80/tcp", "127.0.0.1:5353:53/udp"], dns: ["1.1.1.1"])],
                           name: "web-1", runInit: true, copyOnWrite: true, detached: false, removeWhenDone: true))
        // docker's hardening, by default.
        let caps = Capabilities.dockerDefault
        expected.process.capabilities = .init(bounding: caps, effective: caps, inheritable: [], permitted: caps, ambient: [])
        expected.linux.deviceCgroupRules = DeviceRules.dockerDefault
        expected.linux.maskedPaths = MaskedPaths.dockerMasked
        expected.linux.readonlyPaths = MaskedPaths.dockerReadOnly
        expected.linux.seccomp = SeccompProfile.dockerDefault(capabilities: Set(caps))
        #expect(config == expected)
        #expect(try ContainerConfig(decoding: config.encoded()) == config)

        // The runtime reads back, from the configuration alone, what the flags asked for.
        #expect(ResourceLimits(config.linux.resources) == spec.limits)
        #expect(try config.cgroupPlacement(id: Self.id) == ("contain/tests", Self.id))
        let bridge = try #require(try BridgeAttachment(config.contain))
        #expect(bridge.network == "contain")
        #expect(bridge.address == spec.address)
        #expect(bridge.ports == spec.ports)
        #expect(bridge.dns == spec.dns)
    }

    @Test func limitsFromAnotherPeriodAreScaledAndABadCgroupsPathIsRefused() throws {
        let resources = ContainerConfig.Linux.Resources(cpu: .init(quota: 25_000, period: 50_000))
        #expect(ResourceLimits(resources).cpu?.quota == 50_000)
        #expect(ResourceLimits(nil).isEmpty)
        var config = ContainerConfig()
        #expect(try config.cgroupPlacement(id: "abc") == ("contain", "abc"))
        config.linux.cgroupsPath = "elsewhere/xyz"   // a client's own name for the container's directory
        #expect(try config.cgroupPlacement(id: "abc") == ("elsewhere", "xyz"))
        config.linux.cgroupsPath = "/a//b/xyz"   // empty components and a leading slash dropped
        #expect(try config.cgroupPlacement(id: "abc") == ("a/b", "xyz"))
        config.linux.cgroupsPath = "../up/abc"
        #expect(throws: SpecError.self) { try config.cgroupPlacement(id: "abc") }
        config.linux.cgroupsPath = "abc"   // no parent of its own
        #expect(throws: SpecError.self) { try config.cgroupPlacement(id: "abc") }
        #expect(try BridgeAttachment(ContainerConfig.ContainExtensions(networkMode: .none)) == nil)
    }

    @Test func theSmallestRun() {
        let spec = ContainerSpec(rootfs: "rootfs", command: ["sh"])
        let config = ContainerConfig(spec: spec, id: Self.id)
        #expect(config.ociVersion == "1.0.2")
        #expect(config.root == .init(path: "rootfs", readonly: false))
        #expect(config.hostname == "0123456789ab")
        #expect(config.process.env.contains("HOSTNAME=0123456789ab"))
        #expect(!config.process.env.contains { $0.hasPrefix("TERM=") })
        #expect(config.process.cwd == "/")
        #expect(config.process.user == .init())
        #expect(config.mounts.isEmpty)
        #expect(config.linux.resources == nil)
        #expect(config.linux.cgroupsPath == "contain/" + Self.id)
        // --net none: its own network namespace, no attachments.
        #expect(config.linux.namespaces.map(\.type) == [.pid, .ipc, .uts, .mount, .cgroup, .network])
        #expect(config.contain == .init(networkMode: .none, copyOnWrite: true))
    }

    @Test func hostNetworkingHasNoNetworkNamespace() {
        var spec = ContainerSpec(rootfs: "rootfs", command: ["sh"], network: .host)
        spec.writableRootfs = true
        spec.detached = true
        let config = ContainerConfig(spec: spec, id: Self.id)
        #expect(config.linux.namespaces.map(\.type) == [.pid, .ipc, .uts, .mount, .cgroup])
        #expect(config.contain.networkMode == .host && config.contain.networkAttachments.isEmpty)
        #expect(!config.contain.copyOnWrite && config.contain.detached)
    }

    @Test(arguments: [
        ("1000:100", ContainerConfig.Process.User(uid: 1000, gid: 100)),
        ("1000", ContainerConfig.Process.User(username: "1000")),   // its group comes from passwd
        ("alice", ContainerConfig.Process.User(username: "alice")),
        ("alice:100", ContainerConfig.Process.User(username: "alice", groupname: "100")),
        ("0:wheel", ContainerConfig.Process.User(username: "0", groupname: "wheel")),
    ])
    func usersAreIdsOnlyWhenBothAreNumbers(text: String, user: ContainerConfig.Process.User) throws {
        var spec = ContainerSpec(rootfs: "rootfs", command: ["sh"])
        spec.user = try UserSpec(parsing: text)
        #expect(ContainerConfig(spec: spec, id: Self.id).process.user == user)
    }

    @Test func aCPUCountBecomesAQuotaPerPeriod() throws {
        let limits = ResourceLimits(cpu: try CPUQuota(cpusText: "1.5", availableCPUs: 4))
        #expect(ContainerConfig.Linux.Resources(limits: limits) == .init(cpu: .init(quota: 150_000, period: 100_000)))
        #expect(ContainerConfig.Linux.Resources(limits: ResourceLimits()) == nil)
    }
}
