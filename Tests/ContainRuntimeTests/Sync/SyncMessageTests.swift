import Glibc
import Testing
@testable import ContainRuntime

@Suite struct SyncMessageTests {
    static let config = InitConfig(
        rootfs: "/var/lib/rootfs", rootfsDisplay: "./rootfs", hostname: "sandbox",
        argv: ["/bin/sh", "-c", "echo ünïcode; exit 3", ""], environment: ["PATH=/bin", "TERM=xterm"],
        bringUpLoopback: true, newCgroupNamespace: false, reportProgress: true)

    static let all: [SyncMessage] = [
        .config(config),
        .config(InitConfig(rootfs: "/", rootfsDisplay: "/", hostname: nil, argv: ["true"], environment: [],
                           bringUpLoopback: false, newCgroupNamespace: true, mountCgroup2: true, reportProgress: false)),
        .config(InitConfig(rootfs: "/r", rootfsDisplay: "r", hostname: "web", argv: ["httpd"], environment: [],
                           bringUpLoopback: true, newCgroupNamespace: true, reportProgress: true,
                           network: InitNetwork(interface: "eth0", address: "10.88.0.2", prefix: 24, gateway: "10.88.0.1"),
                           bindFiles: [BindFile(source: "/run/contain/containers/x/hosts", target: "/etc/hosts"),
                                       BindFile(source: "/run/contain/containers/x/resolv.conf", target: "/etc/resolv.conf")])),
        .config(InitConfig(rootfs: "/r", rootfsDisplay: "r", hostname: nil, argv: ["sh"], environment: [],
                           bringUpLoopback: true, newCgroupNamespace: false, reportProgress: false,
                           network: InitNetwork(interface: "eth0", address: "10.89.0.9", prefix: 16, gateway: nil))),
        .proceed, .ready, .start,
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
        big.environment = (0..<2000).map { "VARIABLE_\($0)=\(String(repeating: "x", count: 40))" }
        let (parent, child) = try SyncChannel.pair()
        try parent.send(.config(big))
        #expect(try child.receive() == .config(big))
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

    @Test(arguments: [[], [9], [3, 5, 0, 0, 0, 0x61], [2, 0], [5, 255, 255, 255, 255], [1, 0, 0, 0]] as [[UInt8]])
    func rejectsMalformedBytes(bytes: [UInt8]) {
        #expect(throws: SyncDecodingError.self) { try SyncMessage(decoding: bytes) }
    }
}
