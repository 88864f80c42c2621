import ContainNetwork
import Testing
@testable import ContainRuntime

@Suite struct ContainerConfigTests {
    typealias Linux = ContainerConfig.Linux

    /// Every field set, and set away from its default (the completeness test holds it to that).
    static let full: ContainerConfig = {
        var full = ContainerConfig(
        ociVersion: "1.1.0",
        process: .init(
            terminal: true,
            user: .init(uid: 1000, gid: 100, additionalGids: [10, 4_000_000_000], username: "alice", groupname: "staff",
                        additionalGroupNames: ["video"], umask: 0o027),
            args: ["/bin/sh", "-c", "echo ünïcode; exit 3", ""],
            env: ["PATH=/bin", "EMPTY="],
            cwd: "/srv",
            capabilities: .init(bounding: ["CAP_KILL", "CAP_CHOWN"], effective: ["CAP_KILL"], inheritable: ["CAP_NET_RAW"],
                                permitted: ["CAP_SETUID"], ambient: ["CAP_NET_BIND_SERVICE"]),
            rlimits: [.init(type: "RLIMIT_NOFILE", hard: 4096, soft: 1024), .init(type: "RLIMIT_CORE", hard: .max, soft: 0)],
            noNewPrivileges: true,
            oomScoreAdj: -500),
        root: .init(path: "/var/lib/rootfs", readonly: true),
        hostname: "web",
        mounts: [.init(destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec"]),
                 .init(destination: "/data")],
        hooks: .init(prestart: [hook("pre"), .init(path: "/bin/true")], createRuntime: [hook("create-runtime")],
                     createContainer: [hook("create-container")], startContainer: [hook("start-container")],
                     poststart: [hook("poststart")], poststop: [hook("poststop", timeout: -1)]),
        annotations: ["org.example.b": "2", "org.example.a": "", "com.example": "x=y"],
        linux: .init(
            namespaces: [.init(type: .network, path: "/proc/1/ns/net")]
                + Linux.NamespaceType.allCases.map { .init(type: $0) },
            resources: .init(memory: .init(limit: 64 << 20, swap: -1, reservation: 32 << 20),
                             cpu: .init(quota: 50_000, period: 100_000, shares: 512, cpus: "0-3,6", mems: "0-1"),
                             pids: .init(limit: 64), hugepageLimits: [.init(pageSize: "2MB", limit: 8 << 20)]),
            cgroupsPath: "contain/abc",
            devices: [.init(path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o666, uid: 1, gid: 2)],
            deviceCgroupRules: [.init(allow: true, type: "c", major: 1, minor: 3, access: "rwm"), .init(allow: false)],
            maskedPaths: ["/proc/kcore", "/proc/keys"],
            readonlyPaths: ["/proc/sys"],
            seccomp: .init(defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1, architectures: ["SCMP_ARCH_X86_64"],
                           syscalls: [.init(names: ["personality"], action: "SCMP_ACT_ALLOW", errnoRet: 38,
                                            args: [.init(index: 1, value: 0xffff_ffff, valueTwo: 8, op: "SCMP_CMP_MASKED_EQ")])]),
            sysctl: ["net.ipv4.ip_forward": "1", "kernel.shmmax": "65536"],
            rootfsPropagation: "slave"),
        contain: .init(networkMode: .bridge(network: "backend"),
                       networkAttachments: [.init(network: "backend", address: "10.88.0.5", ports: ["8080:80/tcp", "127.0.0.1:53:53/udp"],
                                                  dns: ["1.1.1.1"], aliases: ["api"], address6: "fd00:1::5", mac: "02:42:0a:58:00:05", impair: "delay=40ms")],
                       name: "web-1", runInit: true, copyOnWrite: false, detached: true, removeWhenDone: true,
                       privileged: true, seccompProfile: "/etc/profile.json", shmSize: 128 << 20,
                       interactive: true, restartPolicy: "on-failure:3", logMaxSize: 1 << 20, logMaxFiles: 2, stopSignal: 3, stopTimeout: 30,
                       extraHosts: ["db:192.0.2.7", "gw:host-gateway"], dnsSearch: ["lab.example"], dnsOptions: ["ndots:2"]))
        full.contain.nameFiles = false
        full.contain.everyCgroupHierarchy = true
        return full
    }()

    static func hook(_ name: String, timeout: Int32 = 5) -> ContainerConfig.Hook {
        .init(path: "/usr/libexec/\(name)", args: [name, "--state"], env: ["HOOK=\(name)"], timeout: timeout)
    }

    @Test func everyFieldRoundTrips() throws {
        let bytes = Self.full.encoded()
        #expect(try ContainerConfig(decoding: bytes) == Self.full)
        #expect(try ContainerConfig(decoding: bytes).encoded() == bytes)
    }

    /// A member added without a tag, or left out of the fixture, fails here.
    @Test func theFixtureSetsEveryFieldAndEveryFieldHasATag() {
        #expect(Completeness.problems(Self.full, default: ContainerConfig(), path: "config") == [])
    }

    @Test func theCompletenessCheckCatchesWhatItShould() {
        let defaults = Completeness.problems(ContainerConfig(), default: ContainerConfig(), path: "config")
        #expect(defaults.contains("config.process.oomScoreAdj is nil"))
        #expect(defaults.contains("config.contain.copyOnWrite is its default, true"))
        #expect(defaults.contains("config.mounts is empty"))
        #expect(Completeness.problems(Untagged(kept: "a", forgotten: "b"), default: nil, path: "u")
                == ["u: 2 stored properties, 1 tags"])
    }

    @Test func anEmptyConfigRoundTrips() throws {
        let empty = ContainerConfig(process: .init(cwd: ""), root: .init(path: ""), contain: .init(networkMode: .none))
        #expect(empty.hooks == nil && empty.linux.resources == nil && empty.mounts.isEmpty && empty.annotations.isEmpty)
        #expect(try ContainerConfig(decoding: empty.encoded()) == empty)
        #expect(try ContainerConfig(decoding: ContainerConfig().encoded()) == ContainerConfig())
        // Optionals are absent, not encoded as empty values: nested messages only have their scalars.
        let reader = try TaggedReader<ContainerConfig.Tag>(empty.encoded()[...], path: TaggedPath("config"))
        #expect(reader.fields.map(\.tag) == [1, 2, 3, 8, 9])
    }

    @Test(arguments: [NetworkMode.none, .host, .bridge(network: "contain"), .bridge(network: "host"), .bridge(network: "")])
    func networkModesRoundTrip(mode: NetworkMode) throws {
        var config = ContainerConfig()
        config.contain.networkMode = mode
        #expect(try ContainerConfig(decoding: config.encoded()).contain.networkMode == mode)
    }

    @Test func theProcessAloneRoundTrips() throws {
        let process = Self.full.process
        #expect(try ContainerConfig.Process(decoding: process.encoded()) == process)
        #expect(try ContainerConfig.Process(decoding: ContainerConfig.Process().encoded()) == ContainerConfig.Process())
        // The same bytes as inside the whole config: exec can be handed that part as it is.
        let reader = try TaggedReader<ContainerConfig.Tag>(Self.full.encoded()[...], path: TaggedPath("config"))
        #expect(Array(reader.all(.process)[0].payload) == process.encoded())
    }

    @Test func wireFormatIsStable() {
        #expect(ContainerConfig.Root(path: "/r", readonly: true).encoded()
                == [1, 0, 2, 0, 0, 0, 0x2f, 0x72, 2, 0, 1, 0, 0, 0, 1])
        #expect(ContainerConfig.Linux.Resources.Pids(limit: -2).encoded()
                == [1, 0, 8, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        #expect(ContainerConfig.Linux.Namespace(type: .network).encoded() == [1, 0, 7, 0, 0, 0] + Array("network".utf8))
        // Dictionaries in key order, whatever order they were built in.
        #expect(ContainerConfig(annotations: ["b": "1", "a": "2"]).encoded() == ContainerConfig(annotations: ["a": "2", "b": "1"]).encoded())
    }

    @Test func unknownTagsAreSkippedAtEveryLevel() throws {
        var future = TaggedWriter<Future>()
        future.field(.note, "from a newer contain")
        future.nested(.message, as: Future.self) { $0.field(.number, UInt64(7)) }
        let unknown = future.bytes

        // Appended at the top, and inside the process and the linux messages.
        let reader = try TaggedReader<ContainerConfig.Tag>(Self.full.encoded()[...], path: TaggedPath("config"))
        var w = TaggedWriter<ContainerConfig.Tag>(appendingTo: unknown)
        for field in reader.fields {
            w.raw(field.tag) { bytes in
                if field.tag == ContainerConfig.Tag.process.rawValue || field.tag == ContainerConfig.Tag.linux.rawValue {
                    bytes += unknown
                }
                bytes += field.payload
                if field.tag == ContainerConfig.Tag.process.rawValue { bytes += unknown }
            }
        }
        #expect(try ContainerConfig(decoding: w.bytes + unknown) == Self.full)
        #expect(try ContainerConfig.Process(decoding: Self.full.process.encoded() + unknown) == Self.full.process)
    }

    @Test func everyTruncationIsRejected() throws {
        let bytes = Self.full.encoded()
        for count in 0..<bytes.count {
            #expect(throws: TaggedDecodingError.self) { try ContainerConfig(decoding: Array(bytes.prefix(count))) }
        }
    }

    @Test func aTruncatedHeaderNamesItsOffset() {
        let root = ContainerConfig.Root(path: "/r").encoded()   // 8 bytes of path, then 7 of readonly
        let error = #expect(throws: TaggedDecodingError.self) { try ContainerConfig.Root(decoding: Array(root.prefix(11))) }
        #expect(error == .truncated(path: "Root", offset: 8, available: 3))
        #expect(error?.description == "Root: truncated field header at byte 8 (6 bytes needed, 3 left)")
    }

    @Test func anOverlongLengthIsRejected() {
        var root = ContainerConfig.Root(path: "/r").encoded()
        root[2] = 200   // the path claims 200 bytes
        let error = #expect(throws: TaggedDecodingError.self) { try ContainerConfig.Root(decoding: root) }
        #expect(error == .overlong(path: "Root", tag: 1, offset: 0, length: 200, available: 9))
        #expect(error?.description == "Root: field tag 1 at byte 0 claims 200 bytes, only 9 left")

        // Inside a nested message, the length is checked against that message, not the buffer.
        var w = TaggedWriter<ContainerConfig.Process.Tag>()
        w.nested(.user, as: ContainerConfig.Process.User.Tag.self) { user in
            user.raw(ContainerConfig.Process.User.Tag.uid.rawValue) { $0 += [0xe8, 0x03, 0, 0] }
            user.raw(ContainerConfig.Process.User.Tag.gid.rawValue) { $0 += [0x64, 0, 0, 0] }
        }
        var bytes = w.bytes
        bytes[6 + 2] = 16   // uid claims 16 bytes: within the buffer, past the end of `user`
        bytes += [1, 0, 1, 0, 0, 0, 0]
        let nested = #expect(throws: TaggedDecodingError.self) { try ContainerConfig.Process(decoding: bytes) }
        #expect(nested == .overlong(path: "Process.user", tag: 1, offset: 6, length: 16, available: 14))
    }

    @Test func aMissingRequiredFieldIsNamed() throws {
        // The whole config, with `root` rewritten to lack `readonly`.
        let reader = try TaggedReader<ContainerConfig.Tag>(Self.full.encoded()[...], path: TaggedPath("config"))
        var w = TaggedWriter<ContainerConfig.Tag>()
        for field in reader.fields {
            if field.tag == ContainerConfig.Tag.root.rawValue {
                w.nested(.root, as: ContainerConfig.Root.Tag.self) { $0.field(.path, "/r") }
            } else {
                w.raw(field.tag) { $0 += field.payload }
            }
        }
        let error = #expect(throws: TaggedDecodingError.self) { try ContainerConfig(decoding: w.bytes) }
        #expect(error == .missing(path: "ContainerConfig.root.readonly", tag: 2))
        #expect(error?.description == "ContainerConfig.root.readonly: missing required field (tag 2)")
        #expect(throws: TaggedDecodingError.missing(path: "ContainerConfig.ociVersion", tag: 1)) {
            try ContainerConfig(decoding: [])
        }
    }

    @Test func payloadsThatDoNotFitTheirTypeAreRejected() {
        func root(_ path: [UInt8], _ readonly: [UInt8]) -> [UInt8] {
            var w = TaggedWriter<ContainerConfig.Root.Tag>()
            w.raw(1) { $0 += path }
            w.raw(2) { $0 += readonly }
            return w.bytes
        }
        #expect(throws: TaggedDecodingError.invalid(path: "Root.readonly", offset: 13, reason: "expected one byte, 0 or 1")) {
            try ContainerConfig.Root(decoding: root([0x2f], [2]))
        }
        #expect(throws: TaggedDecodingError.invalid(path: "Root.path", offset: 6, reason: "not valid UTF-8")) {
            try ContainerConfig.Root(decoding: root([0xc3, 0x28], [1]))
        }
        #expect(throws: TaggedDecodingError.invalid(path: "Pids.limit", offset: 6, reason: "expected 8 bytes for Int64, got 4")) {
            try ContainerConfig.Linux.Resources.Pids(decoding: [1, 0, 4, 0, 0, 0, 1, 0, 0, 0])
        }
        #expect(throws: TaggedDecodingError.invalid(path: "Namespace.type", offset: 6, reason: "unknown value `net`")) {
            try ContainerConfig.Linux.Namespace(decoding: [1, 0, 3, 0, 0, 0] + Array("net".utf8))
        }
        let twice = ContainerConfig.Root(path: "/a").encoded() + ContainerConfig.Root(path: "/b").encoded()
        #expect(throws: TaggedDecodingError.duplicate(path: "Root.path", offset: 15)) {
            try ContainerConfig.Root(decoding: twice)
        }
    }

    @Test func repeatedFieldsNameTheirIndex() {
        var w = TaggedWriter<ContainerConfig.Linux.Tag>()
        w.field(.devices, ContainerConfig.Linux.Device(path: "/dev/null", type: "c"))
        w.nested(.devices, as: ContainerConfig.Linux.Device.Tag.self) { $0.field(.path, "/dev/zero") }
        let error = #expect(throws: TaggedDecodingError.self) { try ContainerConfig.Linux(decoding: w.bytes) }
        #expect(error == .missing(path: "Linux.devices[1].type", tag: 2))
    }

    /// A member added without a tag.
    struct Untagged: TaggedMessage {
        enum Tag: UInt16, FieldTag { case kept = 1 }
        var kept: String
        var forgotten: String
        init(kept: String, forgotten: String) { self.kept = kept; self.forgotten = forgotten }
        func encode(to w: inout TaggedWriter<Tag>) { w.field(.kept, kept) }
        init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) { kept = try r.required(.kept); forgotten = "" }
    }

    enum Future: UInt16, FieldTag { case note = 900, message = 901, number = 1 }
}

/// Walks a value by reflection and reports fields a round-trip test would not exercise:
/// a message whose stored properties outnumber its tags, or a field the fixture leaves nil,
/// empty, or at the default value (judged against a default instance where there is one,
/// otherwise `0`, `false` and `""` count as unset). Collections are checked by their first element.
enum Completeness {
    static func problems(_ value: Any, default baseline: Any?, path: String) -> [String] {
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            guard let wrapped = mirror.children.first?.value else { return ["\(path) is nil"] }
            let base = baseline.flatMap { Mirror(reflecting: $0).children.first?.value }
            return problems(wrapped, default: base, path: path)
        case .collection, .dictionary, .set:
            guard let first = mirror.children.first?.value else { return ["\(path) is empty"] }
            return mirror.displayStyle == .collection ? problems(first, default: nil, path: path + "[0]") : []
        case .struct:
            var found: [String] = []
            if let message = value as? any TaggedMessage, tagCount(message) != mirror.children.count {
                found.append("\(path): \(mirror.children.count) stored properties, \(tagCount(message)) tags")
            }
            let base = baseline.map { Mirror(reflecting: $0).children.map(\.value) }
            for (i, child) in mirror.children.enumerated() {
                found += problems(child.value, default: base?[i], path: path + "." + (child.label ?? "\(i)"))
            }
            return found
        default:   // scalars and enums
            let text = String(describing: value)
            if let baseline { return text == String(describing: baseline) ? ["\(path) is its default, \(text)"] : [] }
            return ["", "0", "false"].contains(text) ? ["\(path) is \(text.isEmpty ? "empty" : text)"] : []
        }
    }

    private static func tagCount<M: TaggedMessage>(_ message: M) -> Int { M.Tag.allCases.count }

}

@Suite struct NetworkModeEncodingTests {
    @Test func everyNetworkModeRoundTrips() throws {
        for mode in [NetworkMode.none, .host, .bridge(network: "host"), .container("web")] {
            let config = ContainerConfig(contain: .init(networkMode: mode))
            #expect(try ContainerConfig(decoding: config.encoded()).contain.networkMode == mode)
        }
    }
}
