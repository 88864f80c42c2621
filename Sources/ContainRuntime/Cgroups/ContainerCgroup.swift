import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// A container's cgroup across every hierarchy of the layout: created with its limits and
/// device rules, joined by the container's init, read for usage, and removed on every path out.
public final class ContainerCgroup {
    /// Attaches a cgroup v2 device filter to a cgroup directory. The kernel's by default;
    /// tests on a fake tree record the call instead.
    public typealias AttachDeviceProgram = (_ program: DeviceFilterProgram, _ cgroupDirectory: String) throws -> Void

    public let plan: CgroupPlan
    private var created: [String] = []
    /// A real cgroupfs makes a new cgroup's control files itself, and refuses to create others
    /// (a missing file means a missing controller). A fake tree in a test directory needs them made.
    private let createsControlFiles: Bool
    private let attachDeviceProgram: AttachDeviceProgram

    public init(plan: CgroupPlan, createsControlFiles: Bool = false,
                attachDeviceProgram: @escaping AttachDeviceProgram = { try $0.attach(toCgroup: $1) }) {
        self.plan = plan
        self.createsControlFiles = createsControlFiles
        self.attachDeviceProgram = attachDeviceProgram
    }

    /// Makes the directories, writes the limits and the v1 device rules, and attaches the v2
    /// device filter: all before anything joins. On failure removes what it made and throws.
    /// The v2 program lives as long as the cgroup: removing the directory detaches and frees it.
    /// Returns the optional writes the kernel has no file for (v1 without swap accounting).
    @discardableResult
    public func create() throws -> [CgroupPlan.Write] {
        var skipped: [CgroupPlan.Write] = []
        do {
            for dir in plan.parentDirectories { try Files.makeDirectory(dir, existingOK: true) }
            for dir in plan.containerDirectories {
                try Files.makeDirectory(dir)
                created.append(dir)
            }
            for dir in plan.cpusetInherit { try Self.inheritCpuset(dir) }
            for write in plan.writes {
                if write.optional && !createsControlFiles && !Files.exists(write.path) {
                    skipped.append(write)
                    continue
                }
                try Files.write(write.path, write.value, create: createsControlFiles)
            }
            if let program = plan.deviceProgram, let dir = plan.containerDirectories.first {
                try attachDeviceProgram(program, dir)
            }
        } catch {
            try? destroy()
            throw error
        }
        return skipped
    }

    /// cgroup v1 starts a cpuset cgroup with no CPUs and no memory nodes, and nothing can join
    /// it so: an empty set is filled from the parent's.
    static func inheritCpuset(_ dir: String) throws {
        let parent = String(dir[..<(dir.lastIndex(of: "/") ?? dir.endIndex)])
        for file in ["cpuset.cpus", "cpuset.mems"] {
            let own = (try? Files.read(dir + "/" + file)) ?? ""
            guard own.allSatisfy({ $0 == "\n" || $0 == " " }) else { continue }
            let inherited = try Files.read(parent + "/" + file)
            try Files.write(dir + "/" + file, inherited.split(separator: "\n").first.map(String.init) ?? "")
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
        // A paused container's processes (cgroup v1 freezer) act on SIGKILL only once thawed.
        for dir in directories where Files.exists(dir + "/freezer.state") { try? Files.write(dir + "/freezer.state", "THAWED") }
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
