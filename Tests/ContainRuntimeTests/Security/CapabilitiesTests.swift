import Glibc
import Testing
@testable import ContainRuntime

@Suite struct CapabilitiesTests {
    static let defaults = Capabilities.dockerDefault

    @Test func namesAreAcceptedAsDockerSpellsThem() {
        #expect(Capabilities.canonical("net_admin") == "CAP_NET_ADMIN")
        #expect(Capabilities.canonical("CAP_SYS_ADMIN") == "CAP_SYS_ADMIN")
        #expect(Capabilities.canonical("Sys_Ptrace") == "CAP_SYS_PTRACE")
        #expect(Capabilities.canonical("NOPE") == nil)
        #expect(Capabilities.canonical("") == nil)
    }

    @Test func dockersFourteenAreTheDefault() throws {
        #expect(try Set(Capabilities.resolve(add: [], drop: [])) == Set(Self.defaults))
        #expect(Self.defaults.count == 14)
        // The bits docker's containers show in CapEff.
        #expect(Capabilities.mask(Self.defaults) == 0xa80425fb)
    }

    @Test func addAndDropFollowDockersRules() throws {
        let added = try Capabilities.resolve(add: ["SYS_ADMIN"], drop: ["NET_RAW"])
        #expect(added.contains("CAP_SYS_ADMIN") && !added.contains("CAP_NET_RAW") && added.count == 14)
        #expect(try Capabilities.resolve(add: [], drop: ["ALL"]) == [])
        #expect(try Capabilities.resolve(add: ["NET_BIND_SERVICE"], drop: ["ALL"]) == ["CAP_NET_BIND_SERVICE"])
        let everything = try Capabilities.resolve(add: ["ALL"], drop: ["MKNOD"])
        #expect(!everything.contains("CAP_MKNOD") && everything.count == Capabilities.hostBounding.count - 1)
        // Listed in bit order, whatever order they were given in.
        #expect(try Capabilities.resolve(add: ["SYS_TIME", "NET_ADMIN"], drop: ["ALL"]) == ["CAP_NET_ADMIN", "CAP_SYS_TIME"])
    }

    @Test func anUnknownCapabilityIsOneLine() {
        let error = #expect(throws: SpecError.self) { try Capabilities.resolve(add: ["NOPE"], drop: []) }
        #expect(error?.description.contains("--cap-add `NOPE`") == true)
        #expect(throws: SpecError.self) { try Capabilities.resolve(add: [], drop: ["CAP_WHATEVER"]) }
    }

    @Test func securityOptionsReadDockersSpelling() throws {
        let options = try SecurityOptions(capAdd: [], capDrop: [], privileged: false,
                                          securityOpt: ["no-new-privileges", "seccomp=unconfined"], devices: [])
        #expect(options.noNewPrivileges && options.seccomp == .unconfined && options.seccompFilter == nil)
        #expect(options.seccompDescription == "unconfined")
        let privileged = try SecurityOptions(capAdd: [], capDrop: [], privileged: true, securityOpt: [], devices: [])
        #expect(privileged.seccompFilter == nil && privileged.capabilities == Capabilities.hostBounding)
        #expect(throws: SpecError.self) {
            try SecurityOptions(capAdd: [], capDrop: [], privileged: false, securityOpt: ["apparmor=x"], devices: [])
        }
        let profile = #"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#
        let custom = try SecurityOptions(capAdd: [], capDrop: [], privileged: false, securityOpt: ["seccomp=/p.json"],
                                         devices: [], readFile: { _ in profile })
        #expect(custom.seccompDescription == "/p.json")
        #expect(custom.seccompFilter?.defaultAction == "SCMP_ACT_ALLOW")
        #expect(throws: SpecError.self) {
            try SecurityOptions(capAdd: [], capDrop: [], privileged: false, securityOpt: ["seccomp=/p.json"],
                                devices: [], readFile: { _ in "{not json" })
        }
    }

    @Test func devicesAreParsedAndChecked() throws {
        var null = stat()
        null.st_mode = S_IFCHR | 0o666
        null.st_rdev = 0x103  // 1:3
        let mapped = try DeviceMapping(parsing: "/dev/null:/dev/mynull:rw", stat: { _ in null })
        #expect(mapped.containerPath == "/dev/mynull" && mapped.type == "c" && mapped.major == 1 && mapped.minor == 3)
        #expect(mapped.access == "rw")
        #expect(try DeviceMapping(parsing: "/dev/null", stat: { _ in null }).containerPath == "/dev/null")
        #expect(throws: SpecError.self) { try DeviceMapping(parsing: "/no/such", stat: { _ in nil }) }
        var file = stat()
        file.st_mode = S_IFREG | 0o644
        #expect(throws: SpecError.self) { try DeviceMapping(parsing: "/etc/passwd", stat: { _ in file }) }
        #expect(throws: SpecError.self) { try DeviceMapping(parsing: "relative:/dev/x", stat: { _ in null }) }
    }
}
