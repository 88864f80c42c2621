import CContainShim
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// One eBPF instruction: `struct bpf_insn` of <linux/bpf.h>, kept as plain fields so programs
/// compare in tests; `cValue` is the kernel's struct.
public struct BPFInstruction: Equatable, Sendable, CustomStringConvertible {
    public var code: UInt8
    public var destination: UInt8
    public var source: UInt8
    public var offset: Int16
    public var immediate: Int32

    public init(code: Int32, destination: Int32 = 0, source: Int32 = 0, offset: Int16 = 0, immediate: Int32 = 0) {
        self.code = UInt8(code)
        self.destination = UInt8(destination)
        self.source = UInt8(source)
        self.offset = offset
        self.immediate = immediate
    }

    var cValue: bpf_insn {
        var insn = bpf_insn()
        insn.code = code
        insn.dst_reg = destination
        insn.src_reg = source
        insn.off = offset
        insn.imm = immediate
        return insn
    }

    public var description: String {
        "code=\(code) dst=r\(destination) src=r\(source) off=\(offset) imm=\(immediate)"
    }

    // The few instruction shapes the device filter uses (the names of the kernel's own
    // BPF_* macros in samples/bpf and of runc's asm package).

    /// dst = *(u32 *)(src + offset)
    static func loadWord(_ dst: Int32, from src: Int32, offset: Int) -> BPFInstruction {
        BPFInstruction(code: Int32(BPF_LDX | BPF_W | BPF_MEM), destination: dst, source: src, offset: Int16(offset))
    }
    /// dst = (u32)dst OP imm
    static func alu32(_ op: Int32, _ dst: Int32, _ imm: Int32) -> BPFInstruction {
        BPFInstruction(code: Int32(BPF_ALU) | op | Int32(BPF_K), destination: dst, immediate: imm)
    }
    /// dst = (u32)src
    static func move32(_ dst: Int32, _ src: Int32) -> BPFInstruction {
        BPFInstruction(code: Int32(BPF_ALU | BPF_MOV | BPF_X), destination: dst, source: src)
    }
    /// dst = (u32)imm
    static func move32(_ dst: Int32, immediate: Int32) -> BPFInstruction {
        BPFInstruction(code: Int32(BPF_ALU | BPF_MOV | BPF_K), destination: dst, immediate: immediate)
    }
    /// if (dst OP imm) pc += offset
    static func jump(_ op: Int32, _ dst: Int32, _ imm: Int32, offset: Int) -> BPFInstruction {
        BPFInstruction(code: Int32(BPF_JMP) | op | Int32(BPF_K), destination: dst, offset: Int16(offset), immediate: imm)
    }
    /// if (dst OP src) pc += offset
    static func jump(_ op: Int32, _ dst: Int32, register src: Int32, offset: Int) -> BPFInstruction {
        BPFInstruction(code: Int32(BPF_JMP) | op | Int32(BPF_X), destination: dst, source: src, offset: Int16(offset))
    }
    static let exit = BPFInstruction(code: Int32(BPF_JMP | BPF_EXIT))
}

/// The cgroup v2 device filter: a `BPF_PROG_TYPE_CGROUP_DEVICE` program that the kernel runs
/// on every open and mknod of a device node by a process in the cgroup. It returns 1 to allow,
/// 0 to refuse (the caller sees EPERM). Same shape as crun's `src/libcrun/ebpf.c` and runc's
/// `devices/devicefilter.go` (both after systemd's):
///
///     r2 = ctx->access_type & 0xffff       type: BPF_DEVCG_DEV_CHAR or _BLOCK
///     r3 = ctx->access_type >> 16          access: BPF_DEVCG_ACC_READ | _WRITE | _MKNOD
///     r4 = ctx->major
///     r5 = ctx->minor
///     one block per exception, in order:
///       if r2 != type goto next
///       if the access does not match goto next      (left out when the rule is rwm)
///         allow-exceptions: r1 = r3 & access; if r1 != r3 goto next  (all requested is granted)
///         deny-exceptions:  r1 = r3 & access; if r1 == 0 goto next   (any requested is refused)
///       if r4 != major goto next                    (left out for *)
///       if r5 != minor goto next                    (left out for *)
///       r0 = !default; exit
///     next: ...
///     r0 = default; exit
///
/// The access tests are cgroup v1's: a default-deny cgroup allows a request only if one
/// exception grants all of it, a default-allow one refuses it if any exception shares part.
public struct DeviceFilterProgram: Equatable, Sendable {
    public let instructions: [BPFInstruction]

    /// runc's license string. The program calls no kernel helper, so none of them cares.
    public static let license = "Apache"

    public init(filter: DeviceFilter) {
        let ctx = Int32(BPF_REG_1), type = Int32(BPF_REG_2), access = Int32(BPF_REG_3)
        let major = Int32(BPF_REG_4), minor = Int32(BPF_REG_5), scratch = Int32(BPF_REG_1), result = Int32(BPF_REG_0)
        let accessTypeOffset = MemoryLayout<bpf_cgroup_dev_ctx>.offset(of: \.access_type)!
        var program: [BPFInstruction] = [
            .loadWord(type, from: ctx, offset: accessTypeOffset),
            .alu32(Int32(BPF_AND), type, 0xFFFF),
            .loadWord(access, from: ctx, offset: accessTypeOffset),
            .alu32(Int32(BPF_RSH), access, 16),
            .loadWord(major, from: ctx, offset: MemoryLayout<bpf_cgroup_dev_ctx>.offset(of: \.major)!),
            .loadWord(minor, from: ctx, offset: MemoryLayout<bpf_cgroup_dev_ctx>.offset(of: \.minor)!),
        ]
        for exception in filter.exceptions {
            // Each test jumps over the rest of this block, the verdict included: a test is the
            // instructions that prepare it and the jump, given its offset.
            typealias Test = (preparation: [BPFInstruction], jump: (Int) -> BPFInstruction)
            var tests: [Test] = [([], { .jump(Int32(BPF_JNE), type, exception.kind.bpfType, offset: $0) })]
            if exception.access != .all {
                let masked: [BPFInstruction] = [.move32(scratch, access), .alu32(Int32(BPF_AND), scratch, exception.access.rawValue)]
                tests.append(filter.defaultAllow
                    ? (masked, { .jump(Int32(BPF_JEQ), scratch, 0, offset: $0) })
                    : (masked, { .jump(Int32(BPF_JNE), scratch, register: access, offset: $0) }))
            }
            if let value = exception.major { tests.append(([], { .jump(Int32(BPF_JNE), major, Int32(value), offset: $0) })) }
            if let value = exception.minor { tests.append(([], { .jump(Int32(BPF_JNE), minor, Int32(value), offset: $0) })) }
            let verdict: [BPFInstruction] = [.move32(result, immediate: filter.defaultAllow ? 0 : 1), .exit]

            let length = tests.reduce(verdict.count) { $0 + $1.preparation.count + 1 }
            var block: [BPFInstruction] = []
            for test in tests {
                block += test.preparation
                block.append(test.jump(length - block.count - 1))
            }
            program += block + verdict
        }
        program += [.move32(result, immediate: filter.defaultAllow ? 1 : 0), .exit]
        instructions = program
    }

    /// The program as the kernel reads it: `struct bpf_insn` after `struct bpf_insn`.
    public var bytes: [UInt8] {
        instructions.map(\.cValue).withUnsafeBytes { Array($0) }
    }

    /// Loads the program and attaches it to the cgroup v2 directory `cgroupDirectory`, where
    /// it stays until the cgroup is removed (the kernel holds it; our fd is closed here).
    public func attach(toCgroup cgroupDirectory: String) throws {
        let directory = try sys("open", path: cgroupDirectory) { open(cgroupDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { close(directory) }
        let insns = instructions.map(\.cValue)
        let program = Self.license.withCString { license in
            insns.withUnsafeBufferPointer { cshim_bpf_load_device_filter($0.baseAddress, UInt32($0.count), license, nil, 0) }
        }
        if program < 0 {
            let error = errno
            throw SystemError("bpf(BPF_PROG_LOAD) device filter" + verifierReason(insns), path: cgroupDirectory, errno: error)
        }
        defer { close(program) }
        try sys("bpf(BPF_PROG_ATTACH) device filter", path: cgroupDirectory) { cshim_bpf_attach_device_filter(program, directory) }
    }

    /// The verifier's reason for refusing the program (its log's last line before the
    /// statistics), from a second load with a log; empty when there is none.
    private func verifierReason(_ insns: [bpf_insn]) -> String {
        var log = [CChar](repeating: 0, count: 1 << 16)
        let fd = Self.license.withCString { license in
            insns.withUnsafeBufferPointer { program in
                log.withUnsafeMutableBufferPointer {
                    cshim_bpf_load_device_filter(program.baseAddress, UInt32(program.count), license, $0.baseAddress, UInt32($0.count))
                }
            }
        }
        if fd >= 0 { close(fd); return "" }
        let text = log.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        // The log ends with statistics ("processed 0 insns (limit ...") after the reason.
        guard let last = text.split(separator: "\n").last(where: { !$0.isEmpty && !$0.hasPrefix("processed ") }) else { return "" }
        return " (verifier: \(last))"
    }
}
