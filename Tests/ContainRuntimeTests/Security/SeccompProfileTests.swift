import CLibseccomp
import Testing
@testable import ContainRuntime

/// contain's default filter (docker's default profile), asked through the program libseccomp
/// builds from it: what a container may call, and what an added capability allows.
@Suite struct SeccompProfileTests {
    static let dockerCapabilities = Set(Capabilities.dockerDefault)
    static let eperm = BPFInterpreter.errno(1)
    static let allow = BPFInterpreter.allow

    static func program(adding capabilities: [String] = []) throws -> BPFInterpreter {
        try BPFInterpreter(SeccompFilter.export(
            SeccompProfile.dockerDefault(capabilities: dockerCapabilities.union(capabilities))))
    }

    /// `CLONE_NEWUSER`, `CLONE_NEWNET`, ... and what a thread or fork passes.
    static let newUser: UInt64 = 0x1000_0000, newNet: UInt64 = 0x4000_0000, newNS: UInt64 = 0x0002_0000
    static let threadFlags: UInt64 = 0x003d_0f00, forkFlags: UInt64 = 0x0120_0011

    static let ordinary = ["read", "write", "openat", "close", "execve", "exit_group", "mmap", "futex", "getpid",
                           "wait4", "rt_sigaction", "arch_prctl", "capset", "setresuid", "prctl", "chroot", "mknod",
                           "ptrace", "adjtimex", "name_to_handle_at", "seccomp", "memfd_create", "fork"]

    @Test func allowsOrdinaryWork() throws {
        let program = try Self.program()
        for name in Self.ordinary where SeccompArchitecture.native?.oci == "SCMP_ARCH_X86_64" || name != "arch_prctl" {
            #expect(program.answer(name) == Self.allow, "\(name)")
        }
    }

    static let refused = [
        "mount", "umount2", "pivot_root", "unshare", "setns", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount",
        "open_tree", "mount_setattr", "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "kexec_load",
        "kexec_file_load", "init_module", "finit_module", "delete_module", "open_by_handle_at", "userfaultfd",
        "io_uring_setup", "io_uring_enter", "io_uring_register", "swapon", "swapoff", "reboot", "settimeofday",
        "clock_settime", "acct", "quotactl", "lookup_dcookie", "syslog", "iopl", "ioperm", "sethostname",
        "setdomainname", "kcmp", "pidfd_getfd", "process_madvise", "vhangup", "mbind", "set_mempolicy", "fanotify_init",
        "nfsservctl", "uselib", "ustat", "sysfs", "_sysctl", "create_module", "get_kernel_syms", "query_module",
    ]

    @Test func refusesWhatDockerRefusesWithEPERM() throws {
        let program = try Self.program()
        for name in Self.refused where seccomp_syscall_resolve_name(name) >= 0 {
            #expect(program.answer(name) == Self.eperm, "\(name)")
        }
    }

    @Test func cloneMayNotMakeNamespacesAndClone3FallsBackToClone() throws {
        let program = try Self.program()
        #expect(program.answer("clone", args: [Self.threadFlags]) == Self.allow)
        #expect(program.answer("clone", args: [Self.forkFlags]) == Self.allow)
        for flag in [Self.newUser, Self.newNet, Self.newNS, 0x0200_0000, 0x0400_0000, 0x0800_0000, 0x2000_0000] as [UInt64] {
            #expect(program.answer("clone", args: [Self.forkFlags | flag]) == Self.eperm, "clone with \(flag)")
        }
        #expect(program.answer("clone3") == BPFInterpreter.errno(38))
    }

    @Test func personalityOnlyWithTheValuesLibcUses() throws {
        let program = try Self.program()
        for allowed: UInt64 in [0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff] {
            #expect(program.answer("personality", args: [allowed]) == Self.allow, "\(allowed)")
        }
        for refused: UInt64 in [0x0040000 /* ADDR_NO_RANDOMIZE */, 0x0400000 /* READ_IMPLIES_EXEC */, 0x1, 0x1_0000_0000] {
            #expect(program.answer("personality", args: [refused]) == Self.eperm, "\(refused)")
        }
    }

    @Test func socketForEveryFamilyButAlgAndVsock() throws {
        let program = try Self.program()
        for family: UInt64 in [1, 2, 10, 16, 17, 37, 39, 41, 45] {
            #expect(program.answer("socket", args: [family]) == Self.allow, "family \(family)")
        }
        #expect(program.answer("socket", args: [38]) == Self.eperm)
        #expect(program.answer("socket", args: [40]) == Self.eperm)
    }

    @Test func capSysAdminAllowsMountsAndNamespaces() throws {
        let program = try Self.program(adding: ["CAP_SYS_ADMIN"])
        for name in ["mount", "umount2", "unshare", "setns", "fsopen", "fsmount", "move_mount", "open_tree", "bpf",
                     "perf_event_open", "syslog", "sethostname", "quotactl", "lookup_dcookie", "fanotify_init"] {
            #expect(program.answer(name) == Self.allow, "\(name)")
        }
        #expect(program.answer("clone", args: [Self.forkFlags | Self.newUser | Self.newNet]) == Self.allow)
        #expect(program.answer("clone3") == Self.allow)
        // Still refused: docker ties these to other capabilities, or to none.
        for name in ["init_module", "reboot", "keyctl", "userfaultfd", "io_uring_setup", "open_by_handle_at", "pivot_root"] {
            #expect(program.answer(name) == Self.eperm, "\(name)")
        }
    }

    @Test(arguments: [
        ("CAP_SYS_BOOT", ["reboot"]),
        ("CAP_SYS_MODULE", ["init_module", "finit_module", "delete_module"]),
        ("CAP_SYS_TIME", ["settimeofday", "clock_settime"]),
        ("CAP_SYS_PTRACE", ["kcmp", "pidfd_getfd", "process_madvise"]),
        ("CAP_SYS_RAWIO", ["iopl", "ioperm"]),
        ("CAP_SYS_PACCT", ["acct"]),
        ("CAP_SYS_NICE", ["mbind", "set_mempolicy", "get_mempolicy"]),
        ("CAP_SYS_TTY_CONFIG", ["vhangup"]),
        ("CAP_SYSLOG", ["syslog"]),
        ("CAP_BPF", ["bpf"]),
        ("CAP_PERFMON", ["perf_event_open"]),
        ("CAP_DAC_READ_SEARCH", ["open_by_handle_at"]),
    ])
    func eachCapabilityAllowsWhatDockerTiesToIt(capability: String, names: [String]) throws {
        let without = try Self.program(), with = try Self.program(adding: [capability])
        for name in names where seccomp_syscall_resolve_name(name) >= 0 {
            #expect(without.answer(name) == Self.eperm, "\(name) without \(capability)")
            #expect(with.answer(name) == Self.allow, "\(name) with \(capability)")
        }
        #expect(with.answer("mount") == Self.eperm)
        #expect(with.answer("clone", args: [Self.newUser]) == Self.eperm)
    }

    @Test func droppingSysChrootRefusesChroot() throws {
        let program = try BPFInterpreter(SeccompFilter.export(
            SeccompProfile.dockerDefault(capabilities: Self.dockerCapabilities.subtracting(["CAP_SYS_CHROOT"]))))
        #expect(program.answer("chroot") == Self.eperm)
    }

    @Test func theResolvedProfileHasDockersShape() {
        let seccomp = SeccompProfile.docker.resolve(capabilities: Self.dockerCapabilities,
                                                    architecture: SeccompArchitecture.named("SCMP_ARCH_X86_64"),
                                                    kernel: .init(6, 1))
        #expect(seccomp.defaultAction == "SCMP_ACT_ERRNO" && seccomp.defaultErrnoRet == 1)
        #expect(seccomp.architectures == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        let names = seccomp.syscalls.flatMap(\.names)
        #expect(names.contains("arch_prctl") && names.contains("modify_ldt") && !names.contains("set_tls"))
        #expect(!names.contains("mount") && !names.contains("kcmp") && names.contains("ptrace"))
        #expect(seccomp.syscalls.contains(.init(names: ["clone"], action: "SCMP_ACT_ALLOW",
                                                args: [.init(index: 0, value: 2_114_060_288, op: "SCMP_CMP_MASKED_EQ")])))
        #expect(seccomp.syscalls.contains(.init(names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38)))

        let arm = SeccompProfile.docker.resolve(capabilities: ["CAP_SYS_ADMIN"], architecture: SeccompArchitecture.named("SCMP_ARCH_AARCH64"),
                                                kernel: .init(4, 4))
        #expect(arm.architectures == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"])
        let armNames = arm.syscalls.flatMap(\.names)
        #expect(armNames.contains("set_tls") && !armNames.contains("arch_prctl") && armNames.contains("mount"))
        #expect(!armNames.contains("ptrace"), "before 4.8 only CAP_SYS_PTRACE allows ptrace")
        #expect(!arm.syscalls.contains { $0.names == ["clone3"] && $0.action == "SCMP_ACT_ERRNO" })
    }

    @Test func everyNameIsOneLibseccompOrDockerKnows() {
        // Names this libseccomp lacks are newer syscalls; the filter leaves them out.
        let unknown = SeccompProfile.dockerNames.filter { !SeccompFilter.knows(syscall: $0) }
        #expect(unknown.isSubset(of: ["mseal", "uretprobe", "listmount", "statmount", "getxattrat", "setxattrat",
                                      "listxattrat", "removexattrat", "lsm_get_self_attr", "lsm_list_modules",
                                      "lsm_set_self_attr", "riscv_hwprobe", "cachestat", "fchmodat2", "map_shadow_stack",
                                      "futex_wait", "futex_wake", "futex_requeue"]), "\(unknown.sorted())")
    }
}
