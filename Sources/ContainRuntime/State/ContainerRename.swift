import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain rename OLD NEW`: the name link moves, under `names/.lock`.
///
///     1. names/NEW -> <id>.<pid>.<starttime>   symlink(2): made, or taken by a live container
///     2. config's name = NEW                   written atomically (ps, inspect, rm read it)
///     3. names/OLD removed                     only if it still points to this container
///
/// NEW is claimed before OLD goes, so the container never has no name; a rename cut short
/// between 1 and 3 leaves OLD taken until the container is removed, never NEW lost. The
/// generated hosts files of the container's network peers keep the old name.
extension ContainerRecord {
    /// The new name, checked as `--name` is; the container's record must exist.
    public static func changeName(of view: ContainerView, to newName: String, stateRoot: String) throws {
        let name: String
        do { name = try ContainerSpec.validateName(newName) } catch {
            throw RunFailure.runtime("invalid name `\(newName)`: use up to 63 letters, digits, `_`, `.` or `-`, starting with a letter or digit")
        }
        try Files.makeDirectories(namesDirectory(stateRoot), mode: 0o711)
        try withNamesLock(stateRoot) {
            // Read again under the lock: a concurrent rename of the same container went first.
            guard let current = Self.view(directory: view.directory) else { throw RunFailure.noSuchContainer(view.displayName) }
            let id = current.info.id
            if current.info.name == name {
                throw RunFailure.runtime("container \(current.displayName) is already named \(name)")
            }
            let names = namesDirectory(stateRoot)
            let oldLink = current.info.name.map { names + "/" + $0 }
            // The link keeps naming the record's creator (NameTarget): the same target as before.
            let oldTarget = oldLink.flatMap { try? Files.readLink($0) }.flatMap { NameTarget($0).id == id ? $0 : nil }
            let creator = ProcessIdentity.current()
            let target = oldTarget ?? "\(id).\(creator.pid).\(creator.startTime)"
            try claimLocked(link: names + "/" + name, target: target, name: name, stateRoot: stateRoot)
            var info = current.info
            info.name = name
            do {
                try Files.writeAtomically(current.directory + "/config", info.serialized, mode: 0o600)
            } catch {
                unlink(names + "/" + name)
                throw error
            }
            if let oldLink, oldTarget != nil { unlink(oldLink) }
        }
    }

    /// symlink(2) of a name link, the names lock held: a link whose container is gone is
    /// replaced, one whose container lives is refused.
    private static func claimLocked(link: String, target: String, name: String, stateRoot: String) throws {
        while true {
            if symlink(target, link) == 0 { return }
            guard errno == EEXIST else { throw SystemError.last("claim name", path: name) }
            if let owner = (try? Files.readLink(link)).map(NameTarget.init), owner.isAlive(stateRoot: stateRoot) {
                throw RunFailure.runtime("name \(name) is already in use by container \(owner.id.prefix(12))")
            }
            unlink(link)
        }
    }
}
