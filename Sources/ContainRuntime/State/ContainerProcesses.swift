import ContainSystem

/// The processes in a container's cgroup, as the host sees them (`contain top`).
public enum ContainerProcesses {
    public struct Entry: Sendable {
        public let pid: Int32
        public let command: String
    }

    public static func list(_ view: ContainerView) -> [Entry] {
        let dirs = ((try? Files.read(view.directory + "/cgroups")) ?? "").split(separator: "\n").map(String.init)
        guard let first = dirs.first, let procs = try? Files.read(first + "/cgroup.procs") else { return [] }
        return procs.split(separator: "\n").compactMap { Int32($0) }.sorted().map { pid in
            let raw = (try? Files.read("/proc/\(pid)/cmdline")) ?? ""
            let command = raw.split(separator: "\0").joined(separator: " ")
            return Entry(pid: pid, command: command.isEmpty ? "[\((try? Files.read("/proc/\(pid)/comm"))?.split(separator: "\n").first ?? "?")]" : command)
        }
    }
}
