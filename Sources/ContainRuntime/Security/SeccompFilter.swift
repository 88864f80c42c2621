import CLibseccomp
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// A container's `linux.seccomp`, built into a filter by libseccomp (no hand-written BPF) and
/// loaded into the calling process. The translation is runc's (libcontainer/seccomp):
///
/// - the default action with its errno (`SCMP_ACT_ERRNO` without one: `EPERM`);
/// - every listed architecture added beside the native one;
/// - every name of every rule added with its action and argument comparisons; a rule whose
///   action is the default's is redundant and skipped; a name this libseccomp does not know
///   (a syscall newer than it, e.g. `mseal` for 2.5.4) is skipped; on an architecture where a
///   syscall does not exist libseccomp leaves it out (the default action answers it);
/// - comparisons on distinct arguments are one rule (all must hold); two on the same argument
///   become one rule each (either may hold), as runc does;
/// - `SCMP_ACT_KILL` is `SCMP_ACT_KILL_THREAD`, `SCMP_ACT_TRACE` without an errno traces with `EPERM`.
///
/// Loading is irreversible for the process: only the container's init and exec's helper do it,
/// never a test (tests `export` the program instead).
///
/// Cost, measured on x86_64 with libseccomp 2.5.4: docker's profile compiles to about 1250
/// instructions in about 10 ms, nearly all of it libseccomp translating the rules for the x86
/// and x32 sub-architectures (1.6 ms for the native one alone).
public enum SeccompFilter {
    public typealias Seccomp = ContainerConfig.Linux.Seccomp

    /// Loads `seccomp` into this process, on every thread (TSYNC), to apply across exec.
    /// `setNoNewPrivileges`: libseccomp sets no_new_privs as it loads. Without it the caller
    /// must still hold CAP_SYS_ADMIN (Hardening.finalize loads it before dropping capabilities).
    public static func load(_ seccomp: Seccomp, setNoNewPrivileges: Bool) throws {
        try withFilter(seccomp, noNewPrivileges: setNoNewPrivileges) { context in
            try check(seccomp_load(context), "seccomp_load")
        }
    }

    /// The BPF program `load` would install (`struct sock_filter`s in host byte order), built
    /// without loading it: for tests and for looking at.
    public static func export(_ seccomp: Seccomp) throws -> [UInt8] {
        try withFilter(seccomp, noNewPrivileges: false) { context in
            let fd = try sys("memfd_create") { cseccomp_memfd() }
            defer { close(fd) }
            try check(seccomp_export_bpf(context, fd), "seccomp_export_bpf")
            try sys("lseek") { lseek(fd, 0, SEEK_SET) }
            var program: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 16384)
            while true {
                let count = try sys("read") { buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }
                if count == 0 { return program }
                program += buffer[0..<count]
            }
        }
    }

    /// Why `seccomp` cannot be built, as one line: an unknown action, comparison or
    /// architecture, a rule without names, an argument index beyond 5.
    public static func validate(_ seccomp: Seccomp) throws(SpecError) {
        do { _ = try action(seccomp.defaultAction, errnoRet: seccomp.defaultErrnoRet) } catch {
            throw SpecError("defaultAction: \(error)")
        }
        for (i, name) in seccomp.architectures.enumerated() where SeccompArchitecture.named(name) == nil {
            throw SpecError("architectures[\(i)]: unknown architecture `\(name)`")
        }
        for (i, rule) in seccomp.syscalls.enumerated() {
            do throws(SpecError) {
                try validate(names: rule.names)
                _ = try action(rule.action, errnoRet: rule.errnoRet)
                for (j, arg) in rule.args.enumerated() {
                    do throws(SpecError) { _ = try condition(arg) } catch { throw SpecError("args[\(j)]: \(error)") }
                }
            } catch {
                throw SpecError("syscalls[\(i)]\(label(rule.names)): \(error)")
            }
        }
    }

    /// Whether this libseccomp knows `name` (on any architecture: its table has them all).
    public static func knows(syscall name: String) -> Bool {
        seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR
    }

    // MARK: - translation

    /// libseccomp's value for an OCI action name.
    static func action(_ name: String, errnoRet: UInt32?) throws(SpecError) -> UInt32 {
        func data() throws(SpecError) -> UInt16 {
            guard let value = errnoRet else { return UInt16(EPERM) }
            guard let data = UInt16(exactly: value) else { throw SpecError("errnoRet \(value) does not fit in 16 bits") }
            return data
        }
        switch name {
        case "SCMP_ACT_ALLOW": return SCMP_ACT_ALLOW
        case "SCMP_ACT_ERRNO": return cseccomp_act_errno(try data())
        case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD": return SCMP_ACT_KILL_THREAD
        case "SCMP_ACT_KILL_PROCESS": return SCMP_ACT_KILL_PROCESS
        case "SCMP_ACT_TRAP": return SCMP_ACT_TRAP
        case "SCMP_ACT_TRACE": return cseccomp_act_trace(try data())
        case "SCMP_ACT_LOG": return SCMP_ACT_LOG
        case "SCMP_ACT_NOTIFY": throw SpecError("action `SCMP_ACT_NOTIFY` is not supported (contain has no seccomp agent)")
        default:
            throw SpecError("unknown action `\(name)` (expected SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, "
                            + "SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_TRACE or SCMP_ACT_LOG)")
        }
    }

    /// libseccomp's comparison for an OCI argument rule. OCI's `value` and `valueTwo` are
    /// libseccomp's datum A and B; for `SCMP_CMP_MASKED_EQ` that is the mask, then the value.
    static func condition(_ arg: Seccomp.Arg) throws(SpecError) -> scmp_arg_cmp {
        guard arg.index < 6 else { throw SpecError("index \(arg.index) is beyond the 6 arguments a syscall has (0-5)") }
        let op: scmp_compare
        switch arg.op {
        case "SCMP_CMP_NE": op = SCMP_CMP_NE
        case "SCMP_CMP_LT": op = SCMP_CMP_LT
        case "SCMP_CMP_LE": op = SCMP_CMP_LE
        case "SCMP_CMP_EQ": op = SCMP_CMP_EQ
        case "SCMP_CMP_GE": op = SCMP_CMP_GE
        case "SCMP_CMP_GT": op = SCMP_CMP_GT
        case "SCMP_CMP_MASKED_EQ": op = SCMP_CMP_MASKED_EQ
        default:
            throw SpecError("unknown op `\(arg.op)` (expected SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, "
                            + "SCMP_CMP_GE, SCMP_CMP_GT or SCMP_CMP_MASKED_EQ)")
        }
        return scmp_arg_cmp(arg: arg.index, op: op, datum_a: arg.value, datum_b: arg.valueTwo)
    }

    static func validate(names: [String]) throws(SpecError) {
        if names.isEmpty { throw SpecError("a rule with no syscall names") }
        if names.contains("") { throw SpecError("an empty syscall name") }
    }

    /// ` (mount, umount2)` for messages: which rule, when an index alone is hard to find.
    static func label(_ names: [String]) -> String {
        guard !names.isEmpty else { return "" }
        return " (" + (names.count > 3 ? names.prefix(3).joined(separator: ", ") + ", ..." : names.joined(separator: ", ")) + ")"
    }

    /// libseccomp's calls return a negative errno.
    static func check(_ result: Int32, _ operation: String, _ subject: String? = nil) throws(SystemError) {
        if result < 0 { throw SystemError(operation, path: subject, errno: -result) }
    }

    /// Builds the filter for `seccomp` and hands it to `body`; released afterwards either way.
    static func withFilter<T>(_ seccomp: Seccomp, noNewPrivileges: Bool,
                              _ body: (scmp_filter_ctx) throws -> T) throws -> T {
        try validate(seccomp)
        let defaultAction = try action(seccomp.defaultAction, errnoRet: seccomp.defaultErrnoRet)
        guard let context = seccomp_init(defaultAction) else { throw SystemError("seccomp_init", errno: EINVAL) }
        defer { seccomp_release(context) }

        for name in seccomp.architectures {
            // Validated above: every name is in the table, though this libseccomp may predate it.
            let architecture = SeccompArchitecture.named(name)!
            let token = seccomp_arch_resolve_name(architecture.libseccomp)
            if token == 0 { throw SpecError("architecture `\(name)` is not known to this libseccomp") }
            let result = seccomp_arch_add(context, token)
            if result != -EEXIST { try check(result, "seccomp_arch_add", name) }  // the native one is there
        }
        try check(seccomp_attr_set(context, SCMP_FLTATR_CTL_NNP, noNewPrivileges ? 1 : 0), "seccomp_attr_set",
                  "SCMP_FLTATR_CTL_NNP")
        try check(seccomp_attr_set(context, SCMP_FLTATR_CTL_TSYNC, 1), "seccomp_attr_set", "SCMP_FLTATR_CTL_TSYNC")
        if seccomp.syscalls.reduce(0, { $0 + $1.names.count }) > 32 {
            // A binary search over the syscall numbers instead of a linear list; a libseccomp
            // without it builds the linear one. (2.5.4 misbuilds it with no rules: hence the floor.)
            _ = seccomp_attr_set(context, SCMP_FLTATR_CTL_OPTIMIZE, 2)
        }

        for rule in seccomp.syscalls {
            let ruleAction = try action(rule.action, errnoRet: rule.errnoRet)
            if ruleAction == defaultAction { continue }
            var conditions: [scmp_arg_cmp] = []
            for arg in rule.args { conditions.append(try condition(arg)) }
            let sameArgumentTwice = Set(rule.args.map(\.index)).count < rule.args.count
            let groups = sameArgumentTwice ? conditions.map { [$0] } : [conditions]
            for name in rule.names {
                let number = seccomp_syscall_resolve_name(name)
                if number == __NR_SCMP_ERROR { continue }
                for group in groups {
                    try check(seccomp_rule_add_array(context, ruleAction, number, UInt32(group.count), group),
                              "seccomp_rule_add", name)
                }
            }
        }
        return try body(context)
    }
}

/// One architecture as the three vocabularies name it: OCI (`SCMP_ARCH_X86_64`), libseccomp
/// (`x86_64`), and docker's `includes.arches` (`amd64`, Go's name where it has one).
public struct SeccompArchitecture: Equatable, Sendable {
    public let oci: String
    public let libseccomp: String
    public let docker: String

    public static let all: [SeccompArchitecture] = [
        .init(oci: "SCMP_ARCH_X86", libseccomp: "x86", docker: "x86"),
        .init(oci: "SCMP_ARCH_X86_64", libseccomp: "x86_64", docker: "amd64"),
        .init(oci: "SCMP_ARCH_X32", libseccomp: "x32", docker: "x32"),
        .init(oci: "SCMP_ARCH_ARM", libseccomp: "arm", docker: "arm"),
        .init(oci: "SCMP_ARCH_AARCH64", libseccomp: "aarch64", docker: "arm64"),
        .init(oci: "SCMP_ARCH_MIPS", libseccomp: "mips", docker: "mips"),
        .init(oci: "SCMP_ARCH_MIPS64", libseccomp: "mips64", docker: "mips64"),
        .init(oci: "SCMP_ARCH_MIPS64N32", libseccomp: "mips64n32", docker: "mips64n32"),
        .init(oci: "SCMP_ARCH_MIPSEL", libseccomp: "mipsel", docker: "mipsel"),
        .init(oci: "SCMP_ARCH_MIPSEL64", libseccomp: "mipsel64", docker: "mipsel64"),
        .init(oci: "SCMP_ARCH_MIPSEL64N32", libseccomp: "mipsel64n32", docker: "mipsel64n32"),
        .init(oci: "SCMP_ARCH_PPC", libseccomp: "ppc", docker: "ppc"),
        .init(oci: "SCMP_ARCH_PPC64", libseccomp: "ppc64", docker: "ppc64"),
        .init(oci: "SCMP_ARCH_PPC64LE", libseccomp: "ppc64le", docker: "ppc64le"),
        .init(oci: "SCMP_ARCH_S390", libseccomp: "s390", docker: "s390"),
        .init(oci: "SCMP_ARCH_S390X", libseccomp: "s390x", docker: "s390x"),
        .init(oci: "SCMP_ARCH_PARISC", libseccomp: "parisc", docker: "parisc"),
        .init(oci: "SCMP_ARCH_PARISC64", libseccomp: "parisc64", docker: "parisc64"),
        .init(oci: "SCMP_ARCH_RISCV64", libseccomp: "riscv64", docker: "riscv64"),
        .init(oci: "SCMP_ARCH_LOONGARCH64", libseccomp: "loongarch64", docker: "loongarch64"),
    ]

    public static func named(_ oci: String) -> SeccompArchitecture? { all.first { $0.oci == oci } }

    /// The architecture this process runs as (libseccomp's answer), or nil on one not listed.
    public static let native: SeccompArchitecture? = {
        let token = seccomp_arch_native()
        return all.first { seccomp_arch_resolve_name($0.libseccomp) == token }
    }()
}
