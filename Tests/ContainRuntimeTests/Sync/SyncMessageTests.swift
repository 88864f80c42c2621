import Glibc
import Testing
@testable import ContainRuntime

@Suite struct SyncMessageTests {
    static let config = InitConfig(
        container: ContainerConfig(process: .init(args: ["/bin/sh", "-c", "echo ünïcode; exit 3", ""], env: ["PATH=/bin", "TERM=xterm"]),
                                   root: .init(path: "/var/lib/rootfs"), hostname: "sandbox",
                                   linux: .init(namespaces: [.init(type: .pid), .init(type: .network)])),
        plan: InitPlan(rootfsDisplay: "./rootfs", reportProgress: true))

    /// Every field of the plan set, so a field without a tag fails the round trip.
    static let fullPlan = InitPlan(
        rootfsDisplay: "r", newCgroupNamespace: true, mountCgroup2: true, reportProgress: true,
        networksFollow: true,
        bindFiles: [BindFile(source: "/run/contain/containers/x/hosts", target: "/etc/hosts"),
                    BindFile(source: "/run/contain/containers/x/resolv.conf", target: "/etc/resolv.conf")],
        overlay: OverlayDirectories(upper: "/s/upper", work: "/s/work", merged: "/s/merged"), startAtOnce: true,
        seccompProgram: SeccompProgram(bytes: [6, 0, 0, 0, 0, 0, 0xff, 0x7f]),
        cgroupV1Hierarchies: ["memory=memory", "cpu,cpuacct=cpu,cpuacct"], startFIFO: "/run/contain/containers/x/start",
        hookStates: ["{}"], joinCgroups: ["/sys/fs/cgroup/memory/contain/x", "/sys/fs/cgroup/pids/contain/x"])

    static var dualStack: InitNetwork {
        var network = InitNetwork(interface: "eth0", address: "10.88.0.3", prefix: 24, gateway: "10.88.0.1")
        network.address6 = "fd00:88::3"
        network.prefix6 = 64
        network.gateway6 = "fd00:88::1"
        return network
    }

    static let all: [SyncMessage] = [
        .config(config),
        .config(InitConfig(container: ContainerConfig(process: .init(args: ["true"])), plan: InitPlan(rootfsDisplay: "/"))),
        .config(InitConfig(container: ContainerConfig(process: .init(args: ["httpd"]), hostname: "web"), plan: fullPlan)),
        .networks(InitNetworks([InitNetwork(interface: "eth0", address: "10.88.0.2", prefix: 24, gateway: "10.88.0.1"),
                                InitNetwork(interface: "eth1", address: "10.89.0.9", prefix: 16, gateway: nil)])),
        .networks(InitNetworks([Self.dualStack])),
        .exec(ExecConfig(process: ContainerConfig.Process(user: .init(username: "nobody", groupname: "nogroup"),
                                                          args: ["ps", "-o", "pid"], env: ["PATH=/bin"], cwd: "/tmp",
                                                          capabilities: .init(bounding: ["CAP_KILL"], effective: ["CAP_KILL"]),
                                                          noNewPrivileges: true),
                         seccompProgram: SeccompProgram(bytes: [6, 0, 0, 0, 0, 0, 0xff, 0x7f]))),
        .proceed, .ready, .start, .terminal,
        .progress("pivoting root"),
        .failed(operation: "pivot_root", path: "./rootfs", errno: EINVAL),
        .failed(operation: "sethostname", path: nil, errno: EPERM),
        .execFailed(command: "nosuch", errno: ENOENT),
    ]

    @Test(arguments: all)
    func roundTripsOverARealSocketpair(message: SyncMessage) throws {
        let (parent, child) = try SyncChannel.pair()
        try parent.send(message)
        #expect(try child.receive() == message)
        try child.send(message)
        #expect(try parent.receive() == message)
    }

    @Test func largeMessagesArriveWhole() throws {
        var big = Self.config
        big.container.process.env = (0..<2000).map { "VARIABLE_\($0)=\(String(repeating: "x", count: 40))" }
        let (parent, child) = try SyncChannel.pair()
        try parent.send(.config(big))
        #expect(try child.receive() == .config(big))
    }

    /// The plan's every field survives; so does a message with a field this reader does not
    /// know (a newer runtime's), which is skipped.
    @Test func thePlanRoundTripsAndUnknownFieldsAreSkipped() throws {
        #expect(try InitPlan(decoding: Self.fullPlan.encoded()) == Self.fullPlan)
        var bytes = Self.fullPlan.encoded()
        bytes += [0xff, 0x7f, 3, 0, 0, 0, 1, 2, 3]  // tag 32767, three bytes
        #expect(try InitPlan(decoding: bytes) == Self.fullPlan)
        var missing = TaggedWriter<InitPlan.Tag>()
        missing.field(.rootfsDisplay, "r")
        let error = #expect(throws: TaggedDecodingError.self) { try InitPlan(decoding: missing.bytes) }
        #expect("\(error!)".contains("newCgroupNamespace"), "the missing field is named: \(error!)")
    }

    /// `terminal` carries the pty master: a descriptor passed with SCM_RIGHTS arrives as a new
    /// descriptor of the same open file.
    @Test func aDescriptorTravelsWithTheTerminalMessage() throws {
        let (parent, child) = try SyncChannel.pair()
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        try child.send(.terminal, passing: fds[1])
        #expect(try parent.receive() == .terminal)
        let received = parent.takeReceivedFD()
        #expect(received >= 0 && received != fds[1])
        defer { close(received) }
        var byte: UInt8 = 42
        #expect(write(received, &byte, 1) == 1)
        byte = 0
        #expect(read(fds[0], &byte, 1) == 1 && byte == 42)
        #expect(parent.takeReceivedFD() == -1, "taken once")
    }

    @Test func endOfFileWhenThePeerCloses() throws {
        let (parent, child) = try SyncChannel.pair()
        try parent.send(.proceed)
        parent.close()
        #expect(try child.receive() == .proceed)
        #expect(try child.receive() == nil)
        #expect(throws: SyncDecodingError.self) { try child.expect("proceed") }
    }

    @Test func anUnexpectedMessageNamesBoth() throws {
        let (parent, child) = try SyncChannel.pair()
        try parent.send(.progress("x"))
        let error = #expect(throws: SyncDecodingError.self) { try child.expect("proceed") }
        #expect(error?.description == "sync: expected proceed, got progress")
    }

    @Test func wireFormatIsStable() {
        #expect(SyncMessage.proceed.encoded() == [2])
        #expect(SyncMessage.execFailed(command: "ab", errno: 2).encoded() == [5, 2, 0, 0, 0, 0x61, 0x62, 2, 0, 0, 0])
        #expect(SyncMessage.failed(operation: "x", path: nil, errno: -1).encoded() == [4, 1, 0, 0, 0, 0x78, 0, 255, 255, 255, 255])
    }

    @Test(arguments: [[], [11], [3, 5, 0, 0, 0, 0x61], [2, 0], [5, 255, 255, 255, 255], [1, 0, 0, 0]] as [[UInt8]])
    func rejectsMalformedBytes(bytes: [UInt8]) {
        #expect(throws: SyncDecodingError.self) { try SyncMessage(decoding: bytes) }
    }
}
