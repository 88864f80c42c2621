import ArgumentParser
import ContainNetwork
import ContainRuntime
#if canImport(Glibc)
import Glibc
#endif

/// `--root DIR` (or CONTAIN_ROOT): where live state and network definitions are kept. Without
/// it, live state is under /run/contain and network definitions under /var/lib/contain, so
/// networks outlive a reboot and containers do not; with it, everything is under DIR.
struct StateOptions: ParsableArguments {
    @Option(name: .customLong("root"), help: ArgumentHelp("State directory (also CONTAIN_ROOT).", valueName: "dir"))
    var root: String?

    var stateRoot: String { Self.resolve(root: root).stateRoot }
    var networkDirectory: String { Self.resolve(root: root).networkDirectory }

    static func resolve(root: String?) -> (stateRoot: String, networkDirectory: String, imageCache: String, volumes: String) {
        let explicit = root ?? getenv("CONTAIN_ROOT").map { String(cString: $0) }
        return (explicit ?? ContainerRecord.defaultStateRoot, explicit.map { $0 + "/networks" } ?? NetworkStore.defaultDirectory,
                explicit.map { $0 + "/rootfs" } ?? TarballRootfs.defaultCache, explicit.map { $0 + "/volumes" } ?? VolumeStore.defaultDirectory)
    }

    var volumes: VolumeStore { VolumeStore(directory: Self.resolve(root: root).volumes) }

    /// What every command but `run` does first: it needs root, and it reclaims what containers
    /// that ended with nobody to clean up left (cgroups, records, leases, port rules).
    func prepare() throws { try Self.prepare(root: root) }

    /// The same for a command parsed without swift-argument-parser (ExecOptions).
    static func prepare(root: String?) throws {
        try requireRoot()
        let paths = resolve(root: root)
        Container.reclaimAbandoned(stateRoot: paths.stateRoot, networkDirectory: paths.networkDirectory)
    }

    func requireRoot() throws { try Self.requireRoot() }

    static func requireRoot() throws {
        guard geteuid() == 0 else { throw RunFailure.runtime("contain needs root privileges") }
    }
}
