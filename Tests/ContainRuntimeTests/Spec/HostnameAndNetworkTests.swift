import Testing
@testable import ContainRuntime

@Suite struct HostnameTests {
    @Test(arguments: ["sandbox", "a", "web-1", "a.b.c", "A1", String(repeating: "a", count: 62) + ".b"])
    func accepts(name: String) throws {
        #expect(try Hostname.validate(name) == name)
    }

    @Test(arguments: ["", "bad host", "under_score", "-lead", "trail-", "a..b", ".a", "a.",
                      String(repeating: "a", count: 65), String(repeating: "a", count: 64), "ü", "a/b"])
    func rejects(name: String) {
        #expect(throws: SpecError.self) { try Hostname.validate(name) }
    }
}

@Suite struct NetworkModeTests {
    @Test func modes() throws {
        #expect(try NetworkMode(parsing: "none") == .none)
        #expect(try NetworkMode(parsing: "host") == .host)
        #expect(try NetworkMode(parsing: "bridge") == .bridge(network: "contain"))
        #expect(try NetworkMode(parsing: "container:web") == .container("web"))
        #expect(try NetworkMode(parsing: "container:web").description == "container:web")
        #expect(try NetworkMode(parsing: "container:web").ownsNamespace == false)
        for bad in ["container:", "container:../x", "container:.x"] {
            #expect(throws: SpecError.self, "\(bad)") { try NetworkMode(parsing: bad) }
        }
        #expect(try NetworkMode(parsing: "lab-net") == .bridge(network: "lab-net"))
        #expect(!NetworkMode.host.ownsNamespace)
        #expect(NetworkMode.none.ownsNamespace)
        #expect(throws: SpecError.self) { try NetworkMode(parsing: "") }
        #expect(throws: SpecError.self) { try NetworkMode(parsing: "a b") }
        #expect(throws: SpecError.self) { try NetworkMode(parsing: "-x") }
    }

    @Test func cgroupParentStaysInsideTheHierarchy() throws {
        #expect(try ContainerSpec.validateCgroupParent("contain") == "contain")
        #expect(try ContainerSpec.validateCgroupParent("contain/test-1") == "contain/test-1")
        #expect(try ContainerSpec.validateCgroupParent("/a//b/") == "a/b")
        for bad in ["", "/", "../x", "a/../b", "./a"] {
            #expect(throws: SpecError.self, "\(bad)") { try ContainerSpec.validateCgroupParent(bad) }
        }
    }
}
