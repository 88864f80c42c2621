import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

extension ContainerRecord {
    /// The bytes a container's record holds (its copy-on-write layer, output, logs and state
    /// files), counted as docker counts a container's size: the sizes of everything but
    /// directories, each inode once. `contain container prune` reports what it reclaimed so.
    public static func diskUsage(_ view: ContainerView) -> Int64 {
        var seen = Set<[UInt64]>()
        return diskUsage(view.directory, seen: &seen)
    }

    static func diskUsage(_ path: String, seen: inout Set<[UInt64]>) -> Int64 {
        guard let names = try? Files.list(path) else { return 0 }
        var total: Int64 = 0
        for name in names {
            let child = path + "/" + name
            var st = stat()
            guard lstat(child, &st) == 0 else { continue }
            if st.st_mode & S_IFMT == S_IFDIR {
                total += diskUsage(child, seen: &seen)
            } else if seen.insert([UInt64(st.st_dev), UInt64(st.st_ino)]).inserted {
                total += Int64(st.st_size)
            }
        }
        return total
    }
}
