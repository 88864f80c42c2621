@testable import ContainRuntime
import Testing

@Suite struct UserIdentityTests {
    let passwd = """
        root:x:0:0:root:/root:/bin/sh
        nobody:x:65534:65534::/:/bin/false
        alice:x:1000:100::/home/alice:/bin/sh
        broken line
        """
    let group = """
        root:x:0:root
        wheel:x:10:root,alice
        users:x:100:
        staff:x:50:bob,alice
        nogroup:x:65534:
        """

    func resolve(_ text: String?, add: [String] = []) throws -> UserIdentity {
        var user = ContainerConfig.Process.User()
        if let text {
            let spec = try UserSpec(parsing: text)
            user.username = spec.user
            user.groupname = spec.group
        }
        for g in add {
            if let n = UInt32(g) { user.additionalGids.append(n) } else { user.additionalGroupNames.append(g) }
        }
        return try UserIdentity.resolve(user, passwd: passwd, group: group)
    }

    @Test func rootGetsItsGroupsFromTheContainersFilesAndNoneOfTheHosts() throws {
        #expect(try resolve(nil) == UserIdentity(uid: 0, gid: 0, groups: [0, 10], home: "/root"))
    }

    @Test func namesNumbersAndGroupsAsRuncResolvesThem() throws {
        #expect(try resolve("alice") == UserIdentity(uid: 1000, gid: 100, groups: [10, 50], home: "/home/alice"))
        #expect(try resolve("alice:staff") == UserIdentity(uid: 1000, gid: 50, groups: [10, 50], home: "/home/alice"))
        #expect(try resolve("1000") == UserIdentity(uid: 1000, gid: 100, groups: [10, 50], home: "/home/alice"))
        // docker: an unknown numeric user runs with group 0 and HOME=/.
        #expect(try resolve("4242") == UserIdentity(uid: 4242, gid: 0, groups: [], home: "/"))
        #expect(try resolve("4242:7") == UserIdentity(uid: 4242, gid: 7, groups: [], home: "/"))
    }

    @Test func groupAddAppendsNamesAndNumbersOnce() throws {
        #expect(try resolve("alice", add: ["users", "4000", "wheel"]).groups == [10, 50, 4000, 100])
    }

    @Test func unknownNamesSayWhatIsMissingWithoutErrno() throws {
        #expect(throws: SpecError("no such user \"ghost\" in the container's /etc/passwd")) { try resolve("ghost") }
        #expect(throws: SpecError("no such group \"nogroupnamed\" in the container's /etc/group")) { try resolve("alice:nogroupnamed") }
        #expect(throws: SpecError("--group-add: no such group \"video\" in the container's /etc/group")) { try resolve(nil, add: ["video"]) }
    }
}
