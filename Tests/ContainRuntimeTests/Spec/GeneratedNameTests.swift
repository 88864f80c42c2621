import ContainSystem
import Glibc
import Testing
@testable import ContainRuntime

@Suite struct GeneratedNameTests {
    @Test func namesAreAdjectiveSurnameAndValidContainerNames() throws {
        var seed: UInt64 = 7
        func next() -> UInt64 { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return seed >> 11 }
        for attempt in 0..<200 {
            let name = GeneratedName.make(attempt: attempt % 3, random: next)
            #expect(try ContainerSpec.validateName(name) == name)
            let parts = name.split(separator: "_")
            #expect(parts.count == (attempt % 3 == 0 ? 2 : 3), "\(name)")
            #expect(GeneratedName.adjectives.contains(String(parts[0])) && GeneratedName.surnames.contains(String(parts[1])))
            #expect(name != "boring_wozniak")
        }
    }

    @Test func aRecordWithoutANameGetsAFreeOne() throws {
        let root = "/tmp/contain-names-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? Files.removeTree(root) }
        var names = Set<String>()
        var records: [ContainerRecord] = []
        for i in 0..<20 {
            let info = ContainerInfo(id: String(repeating: "\(i % 10)", count: 8) + "\(i)", name: nil, command: ["true"], created: 0,
                                     rootfs: "/r", network: "none", keep: false)
            let record = try ContainerRecord.create(stateRoot: root, info: info, cgroupDirectories: [], generateName: true)
            let name = try #require(record.info.name)
            #expect(names.insert(name).inserted, "\(name) given twice")
            #expect(try ContainerRecord.find(stateRoot: root, name).info.id == info.id)
            records.append(record)
        }
        let unnamed = try ContainerRecord.create(stateRoot: root, info: ContainerInfo(id: "ffff", name: nil, command: ["true"], created: 0,
                                                                                     rootfs: "/r", network: "none", keep: false),
                                                 cgroupDirectories: [])
        #expect(unnamed.info.name == nil)
        for record in records + [unnamed] { record.remove() }
    }
}
