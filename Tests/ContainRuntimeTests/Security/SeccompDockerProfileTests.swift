import Testing
@testable import ContainRuntime

/// docker's profile format (`--security-opt seccomp=FILE`) into the OCI rules, on a fixture
/// that uses every feature of the format.
@Suite struct SeccompDockerProfileTests {
    typealias Seccomp = ContainerConfig.Linux.Seccomp
    static let amd64 = SeccompArchitecture.named("SCMP_ARCH_X86_64")
    static let arm64 = SeccompArchitecture.named("SCMP_ARCH_AARCH64")

    static let fixture = #"""
    {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "archMap": [
            {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
            {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}
        ],
        "syscalls": [
            {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW", "args": [], "comment": "always"},
            {"name": "getpid", "action": "SCMP_ACT_ALLOW", "args": null, "includes": {}, "excludes": {}},
            {"names": ["mount", "umount2"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
             "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390x"]}},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
            {"names": ["set_tls"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm", "arm64"]}},
            {"names": ["modify_ldt"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["arm64"]}},
            {"names": ["reboot"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_BOOT", "CAP_SYS_ADMIN"]}},
            {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
            {"names": ["kcmp"], "action": "SCMP_ACT_LOG", "excludes": {"minKernel": "5.10"}},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 18446744073709551615, "op": "SCMP_CMP_EQ"}]},
            {"names": ["kill"], "action": "SCMP_ACT_KILL_PROCESS",
             "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 1, "op": "SCMP_CMP_LE"}]},
            {"names": ["mseal"], "action": "SCMP_ACT_ALLOW", "comment": "docker's, unknown to libseccomp 2.5.4"},
            {"names": ["uname"], "action": "SCMP_ACT_TRAP", "unknownMember": {"ignored": [1, 2.5, "\u00e9"]}}
        ]
    }
    """#

    static let always: [Seccomp.SyscallRule] = [
        .init(names: ["read", "write", "exit_group"], action: "SCMP_ACT_ALLOW"),
        .init(names: ["getpid"], action: "SCMP_ACT_ALLOW"),
    ]
    static let tail: [Seccomp.SyscallRule] = [
        .init(names: ["personality"], action: "SCMP_ACT_ALLOW", args: [.init(index: 0, value: .max, op: "SCMP_CMP_EQ")]),
        .init(names: ["kill"], action: "SCMP_ACT_KILL_PROCESS",
              args: [.init(index: 1, value: 9, op: "SCMP_CMP_EQ"), .init(index: 0, value: 1, op: "SCMP_CMP_LE")]),
        .init(names: ["mseal"], action: "SCMP_ACT_ALLOW"),
        .init(names: ["uname"], action: "SCMP_ACT_TRAP"),
    ]

    @Test func resolvesForDockersCapabilitiesOnAmd64() throws {
        let seccomp = try DockerSeccompProfile.parse(Self.fixture, capabilities: Set(Capabilities.dockerDefault),
                                                     architecture: Self.amd64, kernel: .init(5, 4))
        #expect(seccomp == Seccomp(
            defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1,
            architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            syscalls: Self.always + [
                .init(names: ["clone"], action: "SCMP_ACT_ALLOW",
                      args: [.init(index: 0, value: 2_114_060_288, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ")]),
                .init(names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38),
                .init(names: ["arch_prctl"], action: "SCMP_ACT_ALLOW"),
                .init(names: ["modify_ldt"], action: "SCMP_ACT_ALLOW"),
                .init(names: ["ptrace"], action: "SCMP_ACT_ALLOW"),
                .init(names: ["kcmp"], action: "SCMP_ACT_LOG"),
            ] + Self.tail))
    }

    @Test func resolvesWithCapSysAdminOnArm64WithAnOldKernel() throws {
        let seccomp = try DockerSeccompProfile.parse(Self.fixture, capabilities: ["CAP_SYS_ADMIN", "CAP_SYS_BOOT"],
                                                     architecture: Self.arm64, kernel: .init(4, 4))
        #expect(seccomp == Seccomp(
            defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1,
            architectures: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
            syscalls: Self.always + [
                .init(names: ["mount", "umount2"], action: "SCMP_ACT_ALLOW"),
                .init(names: ["set_tls"], action: "SCMP_ACT_ALLOW"),
                .init(names: ["reboot"], action: "SCMP_ACT_ALLOW"),
                .init(names: ["kcmp"], action: "SCMP_ACT_LOG"),
            ] + Self.tail))
    }

    @Test func anIncludeNeedsEveryCapabilityAnExcludeAny() throws {
        let onlyBoot = try DockerSeccompProfile.parse(Self.fixture, capabilities: ["CAP_SYS_BOOT"], architecture: Self.amd64,
                                                      kernel: .init(6, 1))
        #expect(!onlyBoot.syscalls.contains { $0.names == ["reboot"] })
        #expect(onlyBoot.syscalls.contains { $0.names == ["clone3"] })
        #expect(!onlyBoot.syscalls.contains { $0.names == ["kcmp"] }, "excluded from 5.10 on")
    }

    @Test func anArchitectureWithoutAnEntryGetsOnlyItsOwn() throws {
        let s390x = try DockerSeccompProfile.parse(Self.fixture, capabilities: [], architecture: SeccompArchitecture.named("SCMP_ARCH_S390X"),
                                                   kernel: .init(6, 1))
        #expect(s390x.architectures == [])
        #expect(!s390x.syscalls.contains { $0.names == ["clone"] } && s390x.syscalls.contains { $0.names == ["modify_ldt"] })
    }

    @Test func aFlatArchitectureListIsKept() throws {
        let json = #"{"defaultAction": "SCMP_ACT_KILL_PROCESS", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],"#
            + #" "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#
        #expect(try DockerSeccompProfile.parse(json, capabilities: [], architecture: Self.amd64, kernel: .init(6, 1))
                == Seccomp(defaultAction: "SCMP_ACT_KILL_PROCESS", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
                           syscalls: [.init(names: ["read"], action: "SCMP_ACT_ALLOW")]))
    }

    @Test func theFixtureBuildsIntoAProgram() throws {
        let seccomp = try DockerSeccompProfile.parse(Self.fixture, capabilities: Set(Capabilities.dockerDefault))
        let program = try BPFInterpreter(SeccompFilter.export(seccomp))
        #expect(program.answer("read") == BPFInterpreter.allow)
        #expect(program.answer("mount") == BPFInterpreter.errno(1))
        #expect(program.answer("clone3") == BPFInterpreter.errno(38))
        #expect(program.answer("clone", args: [0x1000_0000]) == BPFInterpreter.errno(1))
        #expect(program.answer("kill", args: [1, 9]) == 0x8000_0000)
        #expect(program.answer("kill", args: [2, 9]) == BPFInterpreter.errno(1))
        #expect(program.answer("uname") == 0x0003_0000)
    }

    @Test func dockersOwnDefaultProfileReadsBackAsTheBuiltInOne() throws {
        // The default profile, written as docker's JSON by the fixture writer below, parses to
        // what SeccompProfile.dockerDefault builds.
        let json = Self.json(SeccompProfile.docker)
        for capabilities in [Set(Capabilities.dockerDefault), Set(Capabilities.all)] {
            #expect(try DockerSeccompProfile.parse(json, capabilities: capabilities)
                    == SeccompProfile.dockerDefault(capabilities: capabilities))
        }
    }

    /// Each is one line that names what is wrong and where.
    static let bad: [(String, String)] = [
        (#"{"defaultAction": "SCMP_ACT_ERRNO",}"#, "not valid JSON at byte 35: expected a member name in quotes, found `}`"),
        (#"["SCMP_ACT_ERRNO"]"#, "the profile: expected an object, found an array"),
        (#"{"syscalls": []}"#, "no `defaultAction`"),
        (#"{"defaultAction": "SCMP_ACT_DENY"}"#, "defaultAction: unknown action `SCMP_ACT_DENY` (expected SCMP_ACT_ALLOW, "
            + "SCMP_ACT_ERRNO, SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_TRACE or SCMP_ACT_LOG)"),
        (#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}, "#
            + #"{"names": ["mount"], "action": "SCMP_ACT_DENY"}]}"#,
         "syscalls[1] (mount): unknown action `SCMP_ACT_DENY` (expected SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, "
            + "SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_TRACE or SCMP_ACT_LOG)"),
        (#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "#
            + #""args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQUAL"}]}]}"#,
         "syscalls[0] (personality).args[0]: unknown op `SCMP_CMP_EQUAL` (expected SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, "
            + "SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT or SCMP_CMP_MASKED_EQ)"),
        (#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read", "mkdri"], "action": "SCMP_ACT_ALLOW"}]}"#,
         "syscalls[0] (read, mkdri): unknown syscall `mkdri`"),
        (#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": [], "action": "SCMP_ACT_ALLOW"}]}"#,
         "syscalls[0]: a rule with no syscall names"),
        (#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"action": "SCMP_ACT_ALLOW"}]}"#,
         "syscalls[0]: a rule with no syscall names"),
        (#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read", ""], "action": "SCMP_ACT_ALLOW"}]}"#,
         "syscalls[0] (read, ): an empty syscall name"),
        (#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"}]}"#,
         "syscalls[0]: both `name` and `names` are given: use one"),
        (#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"]}]}"#, "syscalls[0] (read): no `action`"),
        (#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]}"#,
         "syscalls[0] (read): action `SCMP_ACT_NOTIFY` is not supported (contain has no seccomp agent)"),
        (#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": "read", "action": "SCMP_ACT_ALLOW"}]}"#,
         "syscalls[0].names: expected an array, found a string"),
        (#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ALLOW", "#
            + #""args": [{"index": 1, "value": -9, "op": "SCMP_CMP_EQ"}]}]}"#,
         "syscalls[0].args[0].value: -9 is not an integer from 0 to 18446744073709551615"),
        (#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ALLOW", "#
            + #""args": [{"index": 1, "value": 18446744073709551616, "op": "SCMP_CMP_EQ"}]}]}"#,
         "syscalls[0].args[0].value: 18446744073709551616 is not an integer from 0 to 18446744073709551615"),
        (#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ALLOW", "#
            + #""args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#,
         "syscalls[0] (kill).args[0]: index 6 is beyond the 6 arguments a syscall has (0-5)"),
        (#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ALLOW", "#
            + #""args": [{"index": 1, "op": "SCMP_CMP_EQ"}]}]}"#,
         "syscalls[0].args[0]: no `value`"),
        (#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1.5}"#,
         "defaultErrnoRet: 1.5 is not an integer from 0 to 4294967295"),
        (#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "archMap": "#
            + #"[{"architecture": "SCMP_ARCH_X86_64"}]}"#,
         "both `architectures` and `archMap` are given: use one"),
        (#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["x86_64"]}"#, "architectures[0]: unknown architecture `x86_64`"),
        (#"{"defaultAction": "SCMP_ACT_ERRNO", "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["i386"]}]}"#,
         "archMap[0].subArchitectures[0]: unknown architecture `i386`"),
        (#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "#
            + #""includes": {"minKernel": "4.8.1"}}]}"#,
         "syscalls[0].includes.minKernel: `4.8.1` is not a kernel version such as \"4.8\""),
        (#"{"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SECCOMP_FILTER_FLAG_LOG"]}"#,
         "`flags` is not supported (contain applies the filter with no flags and no agent)"),
        (#"{"defaultAction": "SCMP_ACT_ERRNO", "listenerPath": "/run/agent.sock"}"#,
         "`listenerPath` is not supported (contain applies the filter with no flags and no agent)"),
    ]

    @Test(arguments: bad)
    func rejectsWithOneLineNamingTheProblem(json: String, message: String) {
        #expect(throws: SpecError(message)) {
            try DockerSeccompProfile.parse(json, capabilities: [], architecture: Self.amd64, kernel: .init(6, 1))
        }
        #expect(!message.contains("\n"))
    }

    // MARK: - a writer for docker's format, for the round trip above

    static func json(_ profile: DockerSeccompProfile) -> String {
        func strings(_ list: [String]) -> String { "[" + list.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }
        func condition(_ c: DockerSeccompProfile.Condition) -> String {
            var parts: [String] = []
            if !c.caps.isEmpty { parts.append("\"caps\": \(strings(c.caps))") }
            if !c.arches.isEmpty { parts.append("\"arches\": \(strings(c.arches))") }
            if let k = c.minKernel { parts.append("\"minKernel\": \"\(k)\"") }
            return "{" + parts.joined(separator: ", ") + "}"
        }
        let archMap = profile.archMap.map {
            "{\"architecture\": \"\($0.architecture)\", \"subArchitectures\": \(strings($0.subArchitectures))}"
        }
        let rules = profile.syscalls.map { rule in
            var parts = ["\"names\": \(strings(rule.names))", "\"action\": \"\(rule.action)\""]
            if let e = rule.errnoRet { parts.append("\"errnoRet\": \(e)") }
            let args = rule.args.map { "{\"index\": \($0.index), \"value\": \($0.value), \"valueTwo\": \($0.valueTwo), \"op\": \"\($0.op)\"}" }
            parts.append("\"args\": [" + args.joined(separator: ", ") + "]")
            parts.append("\"includes\": " + condition(rule.includes))
            parts.append("\"excludes\": " + condition(rule.excludes))
            return "{" + parts.joined(separator: ", ") + "}"
        }
        var top = ["\"defaultAction\": \"\(profile.defaultAction)\""]
        if let e = profile.defaultErrnoRet { top.append("\"defaultErrnoRet\": \(e)") }
        top.append("\"archMap\": [\n" + archMap.joined(separator: ",\n") + "]")
        top.append("\"syscalls\": [\n" + rules.joined(separator: ",\n") + "]")
        return "{\n" + top.joined(separator: ",\n") + "\n}\n"
    }
}
