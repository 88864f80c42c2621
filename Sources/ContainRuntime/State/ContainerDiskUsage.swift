import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

extension ContainerRecord {
    /// The bytes a container's record holds (its copy-on-write layer, output, logs and state
    /// files), counted as docker counts a container's size: the sizes of everything but
    /// directories, each inode once. `contain container prune` reports what it reclaimed so.
    public static func diskUsage(_ view: ContainerView) -> Int64 {
        Files.treeUsage(view.directory, counting: .fileSizes)
    }
}
