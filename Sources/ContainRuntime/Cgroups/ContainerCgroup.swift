import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// A container's cgroup across every hierarchy of the layout: created with its limits,
/// joined by the container's init, read for usage, and removed on every path out.
public final class ContainerCgroup {
    public let plan: CgroupPlan
    private var created: [String] = []
    /// A real cgroupfs makes a new cgroup's control files itself, and refuses to create others
    /// (a missing file means a missing controller). A fake tree in a test directory needs them made.
    private let createsControlFiles: Bool

    public init(plan: CgroupPlan, createsControlFiles: Bool = false) {
        self.plan = plan
        self.createsControlFiles = createsControlFiles
    }

    /// Makes the directories and writes the limits. On failure removes what it made and throws.
    public func create() throws {
        do {
            for dir in plan.parentDirectories { try Files.makeDirectory(dir, existingOK: true) }
            for dir in plan.containerDirectories {
                try Files.makeDirectory(dir)
                created.append(dir)
            }
            for write in plan.writes { try Files.write(write.path, write.value, create: createsControlFiles) }
        } catch {
            try? destroy()
            throw error
        }
    }

    /// Moves `pid` into the cgroup in every hierarchy.
    public func add(pid: pid_t) throws {
        for dir in plan.containerDirectories { try Files.write(dir + "/cgroup.procs", "\(pid)", create: createsControlFiles) }
    }

    public func usage() -> CgroupUsage {
        CgroupUsage.collect(layout: plan.layout) { file in plan.path(of: file).flatMap { try? Files.read($0) } }
    }

    /// Kills whatever is still inside (processes contain started), then removes the directories.
    /// Keeps going after an error and throws the first one at the end.
    public func destroy() throws {
        try Self.remove(directories: created)
        created.removeAll()
    }

    /// Also used to reclaim the cgroups of a container whose runtime died.
    public static func remove(directories: [String]) throws {
        var firstError: Error?
        for dir in directories.reversed() where Files.exists(dir) {
            do { try removeOne(dir) } catch { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
    }

    private static func removeOne(_ dir: String) throws {
        // Exited tasks leave the cgroup a moment after their parent saw them die: retry briefly.
        var attempt = 0
        while true {
            if rmdir(dir) == 0 || errno == ENOENT { return }
            guard errno == EBUSY, attempt < 200 else { throw SystemError.last("rmdir", path: dir) }
            if attempt == 0 || attempt % 20 == 0 { killAll(in: dir) }
            attempt += 1
            usleep(5_000)
        }
    }

    private static func killAll(in dir: String) {
        if Files.exists(dir + "/cgroup.kill") {
            try? Files.write(dir + "/cgroup.kill", "1")
            return
        }
        guard let procs = try? Files.read(dir + "/cgroup.procs") else { return }
        for line in procs.split(separator: "\n") {
            if let pid = pid_t(line), pid > 0 { kill(pid, SIGKILL) }
        }
    }
}
