import ContainSystem
import Glibc
import Testing
@testable import ContainRuntime

@Suite struct ContainerRecordTests {
    static func temporaryRoot() throws -> String {
        var template = Array("/tmp/contain-records-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError.last("mkdtemp") }
        return String(cString: made)
    }

    static func info(_ id: String, name: String? = nil, keep: Bool = false) -> ContainerInfo {
        ContainerInfo(id: id, name: name, command: ["sh", "-c", "echo 'a\nb' \\ c"], created: 1_700_000_000,
                      rootfs: "/r", network: "bridge", keep: keep)
    }

    @Test func metadataRoundTrips() {
        var info = Self.info(String(repeating: "a", count: 64), name: "web")
        info.environment = ["PATH=/bin", "MULTI=line\none"]
        #expect(ContainerInfo(parsing: info.serialized) == info)
        let status = ContainerStatus(pid: ProcessIdentity(pid: 42, startTime: 7), address: "10.88.0.2", exitCode: 137, finished: 5)
        #expect(ContainerStatus(parsing: status.serialized) == status)
        #expect(ContainerStatus(parsing: "") == ContainerStatus())
    }

    @Test func aLiveRecordIsRunningAndItsNameIsTaken() throws {
        let root = try Self.temporaryRoot()
        defer { try? Files.removeTree(root) }
        let record = try ContainerRecord.create(stateRoot: root, info: Self.info("aaaa1111", name: "web"), cgroupDirectories: [])
        record.writeStatus(ContainerStatus(pid: ProcessIdentity.current()))
        #expect(ContainerRecord.list(stateRoot: root).map(\.state) == [.running])
        #expect(try ContainerRecord.find(stateRoot: root, "web").info.id == "aaaa1111")
        #expect(try ContainerRecord.find(stateRoot: root, "aaaa").info.id == "aaaa1111")
        #expect(throws: RunFailure.self) { try ContainerRecord.create(stateRoot: root, info: Self.info("bbbb2222", name: "web"), cgroupDirectories: []) }
        #expect(!Files.exists(root + "/containers/bbbb2222"), "a refused create leaves nothing")
        record.remove()
        #expect(ContainerRecord.list(stateRoot: root).isEmpty)
        // The name is free once its container is gone.
        let again = try ContainerRecord.create(stateRoot: root, info: Self.info("cccc3333", name: "web"), cgroupDirectories: [])
        again.remove()
    }

    @Test func keptRecordsEndAsExitedOthersDisappear() throws {
        let root = try Self.temporaryRoot()
        defer { try? Files.removeTree(root) }
        let kept = try ContainerRecord.create(stateRoot: root, info: Self.info("kept0001", name: "bg", keep: true), cgroupDirectories: [])
        let plain = try ContainerRecord.create(stateRoot: root, info: Self.info("plain001"), cgroupDirectories: [])
        kept.finish(exitCode: 3, status: ContainerStatus())
        plain.finish(exitCode: 0, status: ContainerStatus())
        let views = ContainerRecord.list(stateRoot: root)
        #expect(views.map(\.info.id) == ["kept0001"])
        #expect(views.first?.state == .exited(3))
        // A kept record is not mistaken for one a dead runtime left.
        #expect(ContainerRecord.reclaimAbandoned(stateRoot: root).isEmpty)
        try ContainerRecord.removeEnded(views[0], stateRoot: root)
        #expect(ContainerRecord.list(stateRoot: root).isEmpty)
        #expect((try? Files.list(root + "/names")) == [])
    }

    @Test func concurrentClaimsOfOneNameHaveOneWinner() throws {
        let root = try Self.temporaryRoot()
        defer { try? Files.removeTree(root) }
        // Several processes race for the name; symlink(2) lets exactly one win.
        var pids: [pid_t] = []
        for i in 0..<8 {
            let pid = fork()
            if pid == 0 {
                let ok = (try? ContainerRecord.claim(name: "race", id: "id\(i)", stateRoot: root)) != nil
                if ok { _ = try? Files.makeDirectories(root + "/containers/id\(i)") }
                _exit(ok ? 0 : 1)
            }
            pids.append(pid)
        }
        var winners = 0
        for pid in pids {
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            if (status >> 8) & 0xff == 0 { winners += 1 }
        }
        #expect(winners == 1)
    }
}
