/// Who the command runs as, worked out from `process.user` and the container's own
/// /etc/passwd and /etc/group the way runc (and so docker) does:
///
/// - a name is looked up in passwd; a number is taken as it is, with its passwd entry's group
///   and home when it has one, and group = uid otherwise;
/// - `-u USER:GROUP` replaces the primary group (a name looked up in /etc/group);
/// - supplementary groups: every group in /etc/group that lists the user's name, then
///   `--group-add` (numbers as they are, names looked up);
/// - HOME: the passwd entry's home directory, `/` without one.
///
/// None of the host's supplementary groups survive: the command gets exactly these.
public struct UserIdentity: Equatable, Sendable {
    public var uid: UInt32
    public var gid: UInt32
    public var groups: [UInt32]
    public var home: String

    public init(uid: UInt32, gid: UInt32, groups: [UInt32], home: String) {
        self.uid = uid
        self.gid = gid
        self.groups = groups
        self.home = home
    }

    public static func resolve(_ user: ContainerConfig.Process.User, passwd: String, group: String) throws(SpecError) -> UserIdentity {
        func fields(_ line: Substring) -> [Substring] { line.split(separator: ":", omittingEmptySubsequences: false) }
        let users: [[Substring]] = passwd.split(separator: "\n").map(fields).filter { (e: [Substring]) -> Bool in
            e.count >= 7 && UInt32(e[2]) != nil && UInt32(e[3]) != nil
        }
        let groups: [[Substring]] = group.split(separator: "\n").map(fields).filter { (e: [Substring]) -> Bool in
            e.count >= 3 && UInt32(e[2]) != nil
        }
        var uid = user.uid, gid = user.gid
        var entry: [Substring]?
        if let name = user.username {
            if let found = users.first(where: { $0[0] == name }) {
                entry = found
            } else if let number = UInt32(name) {
                entry = users.first { UInt32($0[2]) == number }
                uid = number
            } else {
                throw SpecError("no such user \"\(name)\" in the container's /etc/passwd")
            }
            if let entry { uid = UInt32(entry[2])!; gid = UInt32(entry[3])! }
        } else {
            entry = users.first { UInt32($0[2]) == uid }
        }
        if let name = user.groupname {
            if let found = groups.first(where: { $0[0] == name }) {
                gid = UInt32(found[2])!
            } else if let number = UInt32(name) {
                gid = number
            } else {
                throw SpecError("no such group \"\(name)\" in the container's /etc/group")
            }
        }
        var supplementary: [UInt32] = []
        if let name = entry?[0] {
            for g in groups where g.count >= 4 && g[3].split(separator: ",").contains(name) {
                supplementary.append(UInt32(g[2])!)
            }
        }
        supplementary += user.additionalGids
        for name in user.additionalGroupNames {
            guard let found = groups.first(where: { $0[0] == name }) else {
                throw SpecError("--group-add: no such group \"\(name)\" in the container's /etc/group")
            }
            supplementary.append(UInt32(found[2])!)
        }
        var seen = Set<UInt32>()
        supplementary = supplementary.filter { seen.insert($0).inserted }
        let home = entry.map { String($0[5]) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/"
        return UserIdentity(uid: uid, gid: gid, groups: supplementary, home: home)
    }
}
