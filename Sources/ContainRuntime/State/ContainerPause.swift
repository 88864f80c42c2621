import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain pause` and `unpause`: the container's cgroup frozen and thawed (Freezer), and a
/// `paused` marker in its record that `ps` and `inspect` read. The marker is written once the
/// freeze is complete and removed once the thaw is; it means something only while the
/// container runs (a container killed while paused is simply exited).
extension ContainerRecord {
    static let pausedMarker = "paused"

    /// Freezes every process of a running container.
    public static func pause(_ view: ContainerView, timeout: Double = 10) throws {
        guard view.isRunning else { throw RunFailure.runtime("container \(view.displayName) is not running") }
        guard !view.paused else { throw RunFailure.runtime("container \(view.displayName) is already paused") }
        let freezer = try freezer(of: view)
        try freezer.freeze(timeout: timeout)
        // It may have ended while freezing: a dead container is not paused.
        guard view.status.pid?.isAlive == true else {
            try? freezer.thaw(timeout: 1)
            throw RunFailure.runtime("container \(view.displayName) is not running")
        }
        do {
            try Files.write(view.directory + "/" + pausedMarker, "", create: true, mode: 0o600)
        } catch {
            try? freezer.thaw(timeout: timeout)
            throw error
        }
    }

    /// Thaws a paused container.
    public static func unpause(_ view: ContainerView, timeout: Double = 10) throws {
        guard view.isRunning else { throw RunFailure.runtime("container \(view.displayName) is not running") }
        guard view.paused else { throw RunFailure.runtime("container \(view.displayName) is not paused") }
        try freezer(of: view).thaw(timeout: timeout)
        unlink(view.directory + "/" + pausedMarker)
    }

    /// After `stop`, `kill` (SIGKILL or the stop signal) or `rm -f` signalled a paused
    /// container, as docker does: thaws it so that the signal is acted on (on cgroup v1 even
    /// SIGKILL waits for the thaw). Best effort: the container may be gone already.
    public static func thawAfterSignal(_ view: ContainerView) {
        guard view.paused else { return }
        try? freezer(of: view).thaw(timeout: 5)
        unlink(view.directory + "/" + pausedMarker)
    }

    /// The container's cgroup directories, as its record lists them (none once it ended).
    public static func cgroupDirectories(of view: ContainerView) -> [String] {
        ((try? Files.read(view.directory + "/cgroups")) ?? "").split(separator: "\n").map(String.init)
    }

    static func freezer(of view: ContainerView) throws -> Freezer {
        guard let freezer = Freezer.find(in: cgroupDirectories(of: view)) else {
            throw RunFailure.runtime("container \(view.displayName) has no freezer cgroup (created before contain joined the freezer hierarchy): it cannot be paused")
        }
        return freezer
    }
}
