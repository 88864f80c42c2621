import ContainSystem
import Testing
@testable import ContainRuntime

private typealias Rule = ContainerConfig.Linux.DeviceRule

/// Rule lists read the way the cgroup v1 devices controller reads them; bad rules refused.
@Suite struct DeviceFilterTests {
    @Test func dockerDefaultIsDenyAllThenTheAllowList() throws {
        let filter = try DeviceFilter(rules: DeviceRules.dockerDefault)
        #expect(!filter.defaultAllow)
        #expect(filter.exceptions.map(\.description) == [
            "c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
            "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm",
        ])
        #expect(DeviceRules.dockerDefault.map(DeviceRules.line) == [
            "a", "c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
            "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm",
        ])
    }

    @Test func anEmptyListDeniesEverythingAndAllowAllRestrictsNothing() throws {
        let none = try DeviceFilter(rules: [])
        #expect(!none.defaultAllow && none.exceptions.isEmpty && !none.allowsEverything)
        #expect(try DeviceFilter(rules: [Rule(allow: true, type: "a")]).allowsEverything)
        // A later `a` starts over: what came before it no longer counts.
        #expect(try DeviceFilter(rules: DeviceRules.dockerDefault + [Rule(allow: true)]).allowsEverything)
    }

    @Test func rulesForTheSameDevicesMergeAndDenyTakesAccessAway() throws {
        let filter = try DeviceFilter(rules: [
            Rule(allow: true, type: "c", major: 1, minor: 3, access: "r"),
            Rule(allow: true, type: "b", major: 8, minor: 0, access: "rw"),
            Rule(allow: true, type: "c", major: 1, minor: 3, access: "mw"),
            Rule(allow: false, type: "c", major: 1, minor: 3, access: "r"),
            Rule(allow: false, type: "b", major: 8, minor: 0, access: "wr"),
            Rule(allow: false, type: "c", major: 4, access: "rwm"),  // nothing to take away: no-op
        ])
        #expect(filter.exceptions.map(\.description) == ["c 1:3 wm"])
        #expect(filter.v1Lines.map { "\($0.file): \($0.line)" } == ["devices.deny: a", "devices.allow: c 1:3 wm"])
    }

    @Test func aDenyListStartsFromAllowAll() throws {
        let filter = try DeviceFilter(rules: [Rule(allow: true, type: "a"), Rule(allow: false, type: "c", major: 1, minor: 11, access: "rw")])
        #expect(filter.defaultAllow)
        #expect(filter.v1Lines.map { "\($0.file): \($0.line)" } == ["devices.allow: a", "devices.deny: c 1:11 rw"])
    }

    @Test func cuttingAHoleInAWildcardIsRefused() {
        // cgroup v1 would keep allowing 1:3 silently; v2 would deny it: refused on both.
        #expect(throws: SpecError("device rule `deny c 1:3 rw` would cut a hole in the earlier `allow c 1:* rwm`, which the cgroup v1 devices controller cannot do")) {
            try DeviceFilter(rules: [Rule(allow: true, type: "c", major: 1, access: "rwm"),
                                     Rule(allow: false, type: "c", major: 1, minor: 3, access: "rw")])
        }
        #expect(throws: SpecError.self) {
            try DeviceFilter(rules: DeviceRules.dockerDefault + [Rule(allow: false, type: "c", major: 1, minor: 11, access: "m")])
        }
        // Access the wildcard does not grant may be taken from a narrower exception.
        #expect(throws: Never.self) {
            try DeviceFilter(rules: DeviceRules.dockerDefault + [Rule(allow: false, type: "c", major: 1, minor: 3, access: "rw")])
        }
    }

    @Test(arguments: [
        (Rule(allow: true, type: "x", access: "rwm"), "device rule type `x` must be `a`, `c` or `b`"),
        (Rule(allow: true, type: "u", major: 1, minor: 3), "device rule type `u` must be `a`, `c` or `b`"),
        (Rule(allow: true, type: "c", access: "rwx"), "device rule access `rwx` must be made of r, w and m"),
        (Rule(allow: true, type: "c", access: ""), "device rule access is empty: it must be made of r, w and m"),
        (Rule(allow: true, type: "c", access: "rr"), "device rule access `rr` names `r` twice"),
        (Rule(allow: true, type: "c", major: -1, access: "r"), "device rule major `-1` is out of range (0 to 2147483647)"),
        (Rule(allow: true, type: "b", major: 8, minor: 1 << 31, access: "r"), "device rule minor `2147483648` is out of range (0 to 2147483647)"),
        (Rule(allow: false, type: "a", major: 1, access: "rwm"), "device rule `deny a`: type `a` stands for every device, so it takes no major, minor or partial access"),
        (Rule(allow: false, access: "r"), "device rule `deny a`: type `a` stands for every device, so it takes no major, minor or partial access"),
    ])
    fileprivate func badRulesAreClearErrors(rule: Rule, message: String) {
        #expect(throws: SpecError(message)) { try DeviceFilter(rules: [rule]) }
    }

    @Test func nilAccessMeansAll() throws {
        let filter = try DeviceFilter(rules: [Rule(allow: true, type: "c", major: 10, minor: 200)])
        #expect(filter.exceptions.map(\.description) == ["c 10:200 rwm"])
    }
}

/// The cgroup v2 program, instruction for instruction. Each line is one `struct bpf_insn` as
/// the kernel reads it on a little-endian machine: opcode, dst|src<<4, offset (le16), imm (le32).
@Suite struct DeviceFilterProgramTests {
    /// r2 = type, r3 = access, r4 = major, r5 = minor from `struct bpf_cgroup_dev_ctx`.
    static let prologue = [
        "61 12 0000 00000000",  // r2 = *(u32 *)(r1 + 0)
        "54 02 0000 ffff0000",  // w2 &= 0xffff
        "61 13 0000 00000000",  // r3 = *(u32 *)(r1 + 0)
        "74 03 0000 10000000",  // w3 >>= 16
        "61 14 0400 00000000",  // r4 = *(u32 *)(r1 + 4)
        "61 15 0800 00000000",  // r5 = *(u32 *)(r1 + 8)
    ]
    static let allow = ["b4 00 0000 01000000", "95 00 0000 00000000"]  // w0 = 1; exit
    static let deny = ["b4 00 0000 00000000", "95 00 0000 00000000"]   // w0 = 0; exit

    static func hex(_ program: DeviceFilterProgram) -> [String] {
        let bytes = program.bytes
        return stride(from: 0, to: bytes.count, by: 8).map { at in
            let b = bytes[at..<at + 8].map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
            return "\(b[0]) \(b[1]) \(b[2])\(b[3]) \(b[4])\(b[5])\(b[6])\(b[7])"
        }
    }

    @Test func anAllowListOfThree() throws {
        let filter = try DeviceFilter(rules: [
            Rule(allow: false, type: "a", access: "rwm"),
            Rule(allow: true, type: "c", major: 1, minor: 3, access: "rwm"),
            Rule(allow: true, type: "b", access: "m"),
            Rule(allow: true, type: "c", major: 136, access: "rw"),
        ])
        #expect(Self.hex(DeviceFilterProgram(filter: filter)) == Self.prologue + [
            // c 1:3 rwm
            "55 02 0400 02000000",  // if r2 != BPF_DEVCG_DEV_CHAR goto +4
            "55 04 0300 01000000",  // if r4 != 1 goto +3
            "55 05 0200 03000000",  // if r5 != 3 goto +2
        ] + Self.allow + [
            // b *:* m
            "55 02 0500 01000000",  // if r2 != BPF_DEVCG_DEV_BLOCK goto +5
            "bc 31 0000 00000000",  // w1 = w3
            "54 01 0000 01000000",  // w1 &= BPF_DEVCG_ACC_MKNOD
            "5d 31 0200 00000000",  // if r1 != r3 goto +2: something asked for is not granted
        ] + Self.allow + [
            // c 136:* rw
            "55 02 0600 02000000",  // if r2 != BPF_DEVCG_DEV_CHAR goto +6
            "bc 31 0000 00000000",  // w1 = w3
            "54 01 0000 06000000",  // w1 &= BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE
            "5d 31 0300 00000000",  // if r1 != r3 goto +3
            "55 04 0200 88000000",  // if r4 != 136 goto +2
        ] + Self.allow + Self.deny)
    }

    @Test func aDenyListRefusesAnyOverlap() throws {
        let filter = try DeviceFilter(rules: [Rule(allow: true), Rule(allow: false, type: "c", major: 1, minor: 3, access: "w")])
        #expect(Self.hex(DeviceFilterProgram(filter: filter)) == Self.prologue + [
            "55 02 0700 02000000",  // if r2 != BPF_DEVCG_DEV_CHAR goto +7
            "bc 31 0000 00000000",  // w1 = w3
            "54 01 0000 04000000",  // w1 &= BPF_DEVCG_ACC_WRITE
            "15 01 0400 00000000",  // if r1 == 0 goto +4: nothing asked for is refused
            "55 04 0300 01000000",  // if r4 != 1 goto +3
            "55 05 0200 03000000",  // if r5 != 3 goto +2
        ] + Self.deny + Self.allow)
    }

    @Test func denyEverything() throws {
        #expect(Self.hex(DeviceFilterProgram(filter: try DeviceFilter(rules: []))) == Self.prologue + Self.deny)
    }

    @Test func dockerDefault() throws {
        func exact(_ major: String, _ minor: String) -> [String] {
            ["55 02 0400 02000000", "55 04 0300 \(major)000000", "55 05 0200 \(minor)000000"] + Self.allow
        }
        let program = DeviceFilterProgram(filter: try DeviceFilter(rules: DeviceRules.dockerDefault))
        #expect(Self.hex(program) == Self.prologue
            // c *:* m
            + ["55 02 0500 02000000", "bc 31 0000 00000000", "54 01 0000 01000000", "5d 31 0200 00000000"] + Self.allow
            // b *:* m
            + ["55 02 0500 01000000", "bc 31 0000 00000000", "54 01 0000 01000000", "5d 31 0200 00000000"] + Self.allow
            // c 1:3, 1:5, 1:7, 1:8, 1:9, 5:0, 5:1, 5:2 rwm
            + exact("01", "03") + exact("01", "05") + exact("01", "07") + exact("01", "08") + exact("01", "09")
            + exact("05", "00") + exact("05", "01") + exact("05", "02")
            // c 136:* rwm
            + ["55 02 0300 02000000", "55 04 0200 88000000"] + Self.allow
            // c 10:200 rwm
            + exact("0a", "c8")
            + Self.deny)
        #expect(program.instructions.count == 69)
    }
}
