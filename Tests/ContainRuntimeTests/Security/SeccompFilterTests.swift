import CLibseccomp
import ContainSystem
import Testing
@testable import ContainRuntime

/// The filters are built by libseccomp and exported, never loaded: loading is irreversible for
/// the process, and this one goes on to run other tests. What a filter answers is read by
/// running the exported program in `BPFInterpreter`, a classic BPF interpreter.
@Suite struct SeccompFilterTests {
    typealias Seccomp = ContainerConfig.Linux.Seccomp

    @Test func exportsTheDefaultProfileWithoutLoadingIt() throws {
        let bytes = try SeccompFilter.export(SeccompProfile.dockerDefault(capabilities: Set(Capabilities.dockerDefault)))
        #expect(!bytes.isEmpty && bytes.count % 8 == 0)
        #expect(bytes.count / 8 <= 4096, "the kernel's BPF_MAXINSNS")
    }

    @Test func aRuleWithTheDefaultActionIsLeftOut() throws {
        let bare = Seccomp(defaultAction: "SCMP_ACT_ERRNO")
        let redundant = Seccomp(defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1,
                                syscalls: [.init(names: ["mount"], action: "SCMP_ACT_ERRNO")])
        #expect(try SeccompFilter.export(redundant) == SeccompFilter.export(bare))
    }

    @Test func mapsEveryAction() throws {
        let rules: [(String, UInt32?, UInt32)] = [
            ("SCMP_ACT_ALLOW", nil, BPFInterpreter.allow),
            ("SCMP_ACT_ERRNO", nil, BPFInterpreter.errno(1)),
            ("SCMP_ACT_ERRNO", 13, BPFInterpreter.errno(13)),
            ("SCMP_ACT_KILL", nil, 0),
            ("SCMP_ACT_KILL_THREAD", nil, 0),
            ("SCMP_ACT_KILL_PROCESS", nil, 0x8000_0000),
            ("SCMP_ACT_TRAP", nil, 0x0003_0000),
            ("SCMP_ACT_TRACE", nil, 0x7ff0_0001),
            ("SCMP_ACT_TRACE", 7, 0x7ff0_0007),
            ("SCMP_ACT_LOG", nil, 0x7ffc_0000),
        ]
        for (action, errnoRet, expected) in rules {
            let filter = Seccomp(defaultAction: "SCMP_ACT_ALLOW",
                                 syscalls: [.init(names: ["getppid"], action: action, errnoRet: errnoRet)])
            let program = try BPFInterpreter(SeccompFilter.export(filter))
            #expect(program.answer("getppid") == expected, "\(action) \(errnoRet.map(String.init) ?? "")")
            #expect(program.answer("getpid") == BPFInterpreter.allow)
        }
    }

    @Test func mapsEveryComparison() throws {
        let cases: [(String, UInt64, UInt64, [(UInt64, Bool)])] = [
            ("SCMP_CMP_EQ", 5, 0, [(5, true), (4, false)]),
            ("SCMP_CMP_NE", 5, 0, [(5, false), (4, true)]),
            ("SCMP_CMP_LT", 5, 0, [(4, true), (5, false)]),
            ("SCMP_CMP_LE", 5, 0, [(5, true), (6, false)]),
            ("SCMP_CMP_GT", 5, 0, [(6, true), (5, false)]),
            ("SCMP_CMP_GE", 5, 0, [(5, true), (4, false)]),
            ("SCMP_CMP_MASKED_EQ", 0xf0, 0x30, [(0x3f, true), (0x13, false)]),
            ("SCMP_CMP_EQ", .max, 0, [(.max, true), (0xffff_ffff, false)]),
        ]
        for (op, value, valueTwo, probes) in cases {
            let filter = Seccomp(defaultAction: "SCMP_ACT_ERRNO", syscalls: [
                .init(names: ["getppid"], action: "SCMP_ACT_ALLOW", args: [.init(index: 2, value: value, valueTwo: valueTwo, op: op)]),
            ])
            let program = try BPFInterpreter(SeccompFilter.export(filter))
            for (argument, allowed) in probes {
                let answer = program.answer("getppid", args: [0, 0, argument])
                #expect(answer == (allowed ? BPFInterpreter.allow : BPFInterpreter.errno(1)), "\(op) \(value) on \(argument)")
            }
        }
    }

    @Test func comparisonsOnDistinctArgumentsMustAllHoldOnTheSameArgumentEitherMay() throws {
        let both = Seccomp(defaultAction: "SCMP_ACT_ERRNO", syscalls: [
            .init(names: ["getppid"], action: "SCMP_ACT_ALLOW",
                  args: [.init(index: 0, value: 1, op: "SCMP_CMP_EQ"), .init(index: 1, value: 2, op: "SCMP_CMP_EQ")]),
        ])
        let program = try BPFInterpreter(SeccompFilter.export(both))
        #expect(program.answer("getppid", args: [1, 2]) == BPFInterpreter.allow)
        #expect(program.answer("getppid", args: [1, 3]) == BPFInterpreter.errno(1))
        // runc's rule: two comparisons on one argument become two rules.
        let either = Seccomp(defaultAction: "SCMP_ACT_ERRNO", syscalls: [
            .init(names: ["getppid"], action: "SCMP_ACT_ALLOW",
                  args: [.init(index: 0, value: 1, op: "SCMP_CMP_EQ"), .init(index: 0, value: 2, op: "SCMP_CMP_EQ")]),
        ])
        let program2 = try BPFInterpreter(SeccompFilter.export(either))
        #expect(program2.answer("getppid", args: [1]) == BPFInterpreter.allow)
        #expect(program2.answer("getppid", args: [2]) == BPFInterpreter.allow)
        #expect(program2.answer("getppid", args: [3]) == BPFInterpreter.errno(1))
    }

    @Test func addsTheArchitecturesAndRefusesOthers() throws {
        guard SeccompArchitecture.native?.oci == "SCMP_ARCH_X86_64" else { return }
        let filter = Seccomp(defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
                             syscalls: [.init(names: ["getppid", "arch_prctl"], action: "SCMP_ACT_ALLOW")])
        let program = try BPFInterpreter(SeccompFilter.export(filter))
        #expect(program.answer("getppid", architecture: "x86") == BPFInterpreter.allow)
        #expect(program.answer("getppid", architecture: "x86_64") == BPFInterpreter.allow)
        #expect(program.answer("arch_prctl", architecture: "x86") == BPFInterpreter.allow)  // 32-bit x86 has one too
        // Not in the filter: libseccomp's bad-architecture action kills.
        #expect(program.answer("getppid", architecture: "aarch64") == 0)
        let nativeOnly = try BPFInterpreter(SeccompFilter.export(Seccomp(defaultAction: "SCMP_ACT_ALLOW")))
        #expect(nativeOnly.answer("getppid", architecture: "x86") == 0)
    }

    @Test func namesThisLibseccompDoesNotKnowAreSkipped() throws {
        let filter = Seccomp(defaultAction: "SCMP_ACT_ERRNO",
                             syscalls: [.init(names: ["no_such_call", "getppid"], action: "SCMP_ACT_ALLOW")])
        #expect(try BPFInterpreter(SeccompFilter.export(filter)).answer("getppid") == BPFInterpreter.allow)
    }

    @Test func whatCannotBeBuiltIsOneLine() {
        let cases: [(Seccomp, String)] = [
            (Seccomp(defaultAction: "SCMP_ACT_DENY"),
             "defaultAction: unknown action `SCMP_ACT_DENY` (expected SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, "
                + "SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_TRACE or SCMP_ACT_LOG)"),
            (Seccomp(defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_Z80"]),
             "architectures[0]: unknown architecture `SCMP_ARCH_Z80`"),
            (Seccomp(defaultAction: "SCMP_ACT_ERRNO", syscalls: [.init(names: [], action: "SCMP_ACT_ALLOW")]),
             "syscalls[0]: a rule with no syscall names"),
            (Seccomp(defaultAction: "SCMP_ACT_ERRNO", syscalls: [.init(names: ["read"], action: "SCMP_ACT_NOTIFY")]),
             "syscalls[0] (read): action `SCMP_ACT_NOTIFY` is not supported (contain has no seccomp agent)"),
            (Seccomp(defaultAction: "SCMP_ACT_ERRNO", syscalls: [
                .init(names: ["read"], action: "SCMP_ACT_ALLOW", args: [.init(index: 6, value: 0, op: "SCMP_CMP_EQ")]),
            ]), "syscalls[0] (read): args[0]: index 6 is beyond the 6 arguments a syscall has (0-5)"),
            (Seccomp(defaultAction: "SCMP_ACT_ERRNO", syscalls: [.init(names: ["read"], action: "SCMP_ACT_ERRNO", errnoRet: 70000)]),
             "syscalls[0] (read): errnoRet 70000 does not fit in 16 bits"),
        ]
        for (filter, message) in cases {
            #expect(throws: SpecError(message)) { try SeccompFilter.validate(filter) }
            #expect(throws: SpecError(message)) { try SeccompFilter.export(filter) }
        }
    }

    @Test func theInterpreterAgreesWithKnownInstructions() {
        // ld [0]; jeq #39, allow, deny; allow: ret #ALLOW; deny: ret #ERRNO(1)
        let program = BPFInterpreter([
            .init(code: 0x20, jt: 0, jf: 0, k: 0), .init(code: 0x15, jt: 0, jf: 1, k: 39),
            .init(code: 0x06, jt: 0, jf: 0, k: BPFInterpreter.allow), .init(code: 0x06, jt: 0, jf: 0, k: BPFInterpreter.errno(1)),
        ])
        #expect(program.run(number: 39, architecture: 0) == BPFInterpreter.allow)
        #expect(program.run(number: 40, architecture: 0) == BPFInterpreter.errno(1))
    }
}

/// A classic BPF interpreter for seccomp programs (the subset the kernel accepts for seccomp),
/// to ask an exported filter what it answers for a syscall without loading it.
struct BPFInterpreter {
    struct Instruction {
        var code: UInt16
        var jt: UInt8
        var jf: UInt8
        var k: UInt32
    }

    static let allow: UInt32 = 0x7fff_0000
    static func errno(_ value: UInt32) -> UInt32 { 0x0005_0000 | value }

    let instructions: [Instruction]

    init(_ instructions: [Instruction]) { self.instructions = instructions }

    /// From seccomp_export_bpf's output: `struct sock_filter`s in host byte order.
    init(_ bytes: [UInt8]) {
        instructions = bytes.withUnsafeBytes { raw in
            stride(from: 0, to: raw.count, by: 8).map { offset in
                Instruction(code: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self),
                            jt: raw[offset + 2], jf: raw[offset + 3],
                            k: raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
            }
        }
    }

    /// The answer for `name` on `architecture` (libseccomp's name; nil: the native one).
    func answer(_ name: String, architecture: String? = nil, args: [UInt64] = []) -> UInt32 {
        let token = architecture.map { seccomp_arch_resolve_name($0) } ?? seccomp_arch_native()
        let number = seccomp_syscall_resolve_name_arch(token, name)
        precondition(number >= 0, "\(name) is not a syscall on \(architecture ?? "this machine")")
        return run(number: number, architecture: token, args: args)
    }

    /// Runs the program on a `struct seccomp_data`: nr, arch, instruction pointer, args[6].
    func run(number: Int32, architecture: UInt32, args: [UInt64] = []) -> UInt32 {
        var data = [UInt8](repeating: 0, count: 64)
        data.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: number, toByteOffset: 0, as: Int32.self)
            raw.storeBytes(of: architecture, toByteOffset: 4, as: UInt32.self)
            for (i, arg) in args.prefix(6).enumerated() { raw.storeBytes(of: arg, toByteOffset: 16 + 8 * i, as: UInt64.self) }
        }
        func word(_ offset: UInt32) -> UInt32 {
            precondition(offset % 4 == 0 && offset < 64, "load beyond seccomp_data at \(offset)")
            return data.withUnsafeBytes { $0.load(fromByteOffset: Int(offset), as: UInt32.self) }
        }
        var a: UInt32 = 0, x: UInt32 = 0
        var memory = [UInt32](repeating: 0, count: 16)
        var pc = 0
        while pc < instructions.count {
            let i = instructions[pc]
            pc += 1
            let source = i.code & 0x08 == 0 ? i.k : x
            switch i.code & 0x07 {
            case 0x00:  // LD
                switch i.code & 0xe0 {
                case 0x00: a = i.k
                case 0x20: a = word(i.k)
                case 0x60: a = memory[Int(i.k)]
                case 0x80: a = 64
                default: preconditionFailure("ld mode \(i.code)")
                }
            case 0x01:  // LDX
                switch i.code & 0xe0 {
                case 0x00: x = i.k
                case 0x60: x = memory[Int(i.k)]
                case 0x80: x = 64
                default: preconditionFailure("ldx mode \(i.code)")
                }
            case 0x02: memory[Int(i.k)] = a
            case 0x03: memory[Int(i.k)] = x
            case 0x04:  // ALU
                switch i.code & 0xf0 {
                case 0x00: a = a &+ source
                case 0x10: a = a &- source
                case 0x20: a = a &* source
                case 0x30: a = source == 0 ? 0 : a / source
                case 0x40: a |= source
                case 0x50: a &= source
                case 0x60: a = source >= 32 ? 0 : a << source
                case 0x70: a = source >= 32 ? 0 : a >> source
                case 0x80: a = 0 &- a
                case 0x90: a = source == 0 ? 0 : a % source
                case 0xa0: a ^= source
                default: preconditionFailure("alu op \(i.code)")
                }
            case 0x05:  // JMP
                let taken: Bool
                switch i.code & 0xf0 {
                case 0x00: pc += Int(i.k); continue
                case 0x10: taken = a == source
                case 0x20: taken = a > source
                case 0x30: taken = a >= source
                case 0x40: taken = a & source != 0
                default: preconditionFailure("jmp op \(i.code)")
                }
                pc += Int(taken ? i.jt : i.jf)
            case 0x06: return i.code & 0x18 == 0x10 ? a : i.k  // RET A or K
            default:  // MISC
                if i.code & 0xf8 == 0x00 { x = a } else { a = x }
            }
        }
        preconditionFailure("the program ran off its end")
    }
}
