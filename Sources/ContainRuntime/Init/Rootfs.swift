import CContainShim
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// Turns the init's mount namespace into the container's filesystem: private propagation, the
/// rootfs bound onto itself, a minimal /dev, pivot_root, the old root detached, fresh /proc and
/// a read-only /sys. Nothing is written into the rootfs except missing mount points.
enum Rootfs {
    struct Device {
        let name: String
        let major: UInt32
        let minor: UInt32
    }

    /// The device nodes every container gets, as docker and runc provide them.
    static let devices: [Device] = [
        Device(name: "null", major: 1, minor: 3), Device(name: "zero", major: 1, minor: 5),
        Device(name: "full", major: 1, minor: 7), Device(name: "random", major: 1, minor: 8),
        Device(name: "urandom", major: 1, minor: 9), Device(name: "tty", major: 5, minor: 0),
    ]

    static let deviceLinks: [(String, String)] = [
        ("ptmx", "pts/ptmx"), ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"),
    ]

    static func mount(_ source: String, _ target: String, _ type: String?, _ flags: UInt, _ data: String? = nil) throws {
        try sys("mount \(type ?? "bind")", path: target) { Glibc.mount(source, target, type, flags, data) }
    }

    /// Before pivot: everything private, the rootfs a mount point of its own, /dev populated.
    static func prepare(rootfs: String, bindFiles: [BindFile] = []) throws {
        try mount("none", "/", nil, UInt(MS_REC | MS_PRIVATE))
        try mount(rootfs, rootfs, nil, UInt(MS_BIND | MS_REC))
        for file in bindFiles { try bind(file, rootfs: rootfs) }
        try sys("chdir", path: rootfs) { chdir(rootfs) }
        for dir in ["proc", "sys", "dev"] { try ensureMountPoint(dir) }
        try populateDev()
    }

    /// pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves
    /// nothing of the host reachable and needs no spare directory in the rootfs.
    static func pivot(rootfsDisplay: String) throws {
        try sys("pivot_root", path: rootfsDisplay) { cshim_pivot_root(".", ".") }
        try sys("umount old root", path: "/") { umount2(".", Int32(MNT_DETACH)) }
        try sys("chdir", path: "/") { chdir("/") }
    }

    static func mountProc() throws {
        try mount("proc", "/proc", "proc", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC))
    }

    static func mountSys() throws {
        try mount("sysfs", "/sys", "sysfs", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY))
    }

    /// On a cgroup v2 host, as docker does with a private cgroup namespace: the container's own
    /// cgroup, read-only, where tools look for it.
    static func mountCgroup2() throws {
        try mount("cgroup2", "/sys/fs/cgroup", "cgroup2", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY))
    }

    /// Binds a generated file over the rootfs's own (e.g. /etc/hosts). The target must already
    /// be a regular file inside the rootfs: nothing is created in it, and a symlink that leads
    /// out of the rootfs (resolved here against the host's root) is refused.
    private static func bind(_ file: BindFile, rootfs: String) throws {
        let target = rootfs + file.target
        guard let resolved = try? Files.realPath(target) else { return }  // the rootfs has none: skip
        guard resolved.hasPrefix(rootfs + "/") else {
            throw SystemError("bind \(file.target): leads outside the rootfs", path: resolved, errno: EXDEV)
        }
        var st = stat()
        guard stat(resolved, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return }
        try mount(file.source, resolved, nil, UInt(MS_BIND))
    }

    private static func ensureMountPoint(_ dir: String) throws {
        if Files.isDirectory(dir) { return }
        try Files.makeDirectory(dir)
    }

    private static func populateDev() throws {
        try mount("tmpfs", "dev", "tmpfs", UInt(MS_NOSUID | MS_STRICTATIME), "mode=755,size=65536k")
        for device in devices {
            let path = "dev/" + device.name
            try sys("mknod", path: "/dev/" + device.name) { mknod(path, S_IFCHR | 0o666, cshim_makedev(device.major, device.minor)) }
            try sys("chmod", path: "/dev/" + device.name) { chmod(path, 0o666) }
        }
        try Files.makeDirectory("dev/pts")
        try mount("devpts", "dev/pts", "devpts", UInt(MS_NOSUID | MS_NOEXEC), "newinstance,ptmxmode=0666,mode=0620,gid=5")
        try Files.makeDirectory("dev/shm", mode: 0o1777)
        try mount("shm", "dev/shm", "tmpfs", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), "mode=1777,size=65536k")
        for (name, target) in deviceLinks {
            try sys("symlink", path: "/dev/" + name) { symlink(target, "dev/" + name) }
        }
    }
}
