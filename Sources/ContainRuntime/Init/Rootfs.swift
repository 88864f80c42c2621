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

    /// Before pivot: everything private, the new root a mount point of its own (the rootfs
    /// itself, or an overlay with the rootfs as its read-only lower layer), volumes and
    /// generated files bound in, /dev populated. Returns the new root's path.
    @discardableResult
    static func prepare(rootfs: String, overlay: OverlayDirectories? = nil, volumes: [VolumeSpec] = [],
                        tmpfs: [ContainerConfig.Mount] = [], bindFiles: [BindFile] = [],
                        shm: Shm = .size(defaultShmSize)) throws -> String {
        try mount("none", "/", nil, UInt(MS_REC | MS_PRIVATE))
        let root: String
        if let overlay {
            // Lower, upper and work paths may not contain `,` or `:` (overlay's separators);
            // the runner's state paths never do, and the rootfs is refused if it does.
            try mount("overlay", overlay.merged, "overlay", 0,
                      "lowerdir=\(rootfs),upperdir=\(overlay.upper),workdir=\(overlay.work)")
            root = overlay.merged
        } else {
            try mount(rootfs, rootfs, nil, UInt(MS_BIND | MS_REC))
            root = rootfs
        }
        for volume in volumes { try bind(volume, root: root) }
        for mount in tmpfs { try mountTmpfs(mount, root: root) }
        for file in bindFiles { try bind(file, rootfs: root) }
        try sys("chdir", path: root) { chdir(root) }
        for dir in ["proc", "sys", "dev"] { try ensureMountPoint(dir) }
        try populateDev(shm: shm)
        return root
    }

    /// docker's /dev/shm: 64 MiB.
    static let defaultShmSize: UInt64 = 64 << 20

    /// /dev/shm: a tmpfs of its own, or (`--ipc host`) the host's, bound in.
    enum Shm {
        case size(UInt64)
        case host
        /// A directory bound there (with MS_NOSUID, MS_NODEV, MS_NOEXEC ...).
        case bind(String, flags: UInt)
    }

    /// `-v`: the target is resolved with openat2(RESOLVE_IN_ROOT) from the new root, so `..` and
    /// symlinks (absolute ones too) stay inside it; missing directories (and, for a file
    /// source, the file) are created there. The bind goes onto the opened target through
    /// /proc/self/fd, so nothing can swap the path between the check and the mount.
    static func bind(_ volume: VolumeSpec, root: String) throws {
        let rootFD = try sys("open", path: root) { open(root, CSHIM_O_PATH | O_DIRECTORY | O_CLOEXEC) }
        defer { close(rootFD) }
        var st = stat()
        try sys("stat", path: volume.source) { stat(volume.source, &st) }
        try ensureInRoot(rootFD, volume.target, directory: (st.st_mode & S_IFMT) == S_IFDIR)
        let targetFD = try sys("volume target", path: volume.target) { cshim_open_in_root(rootFD, volume.target, CSHIM_O_PATH) }
        defer { close(targetFD) }
        let target = "/proc/self/fd/\(targetFD)"
        try sys("mount bind", path: volume.target) {
            Glibc.mount(volume.source, target, nil, UInt(MS_BIND) | (volume.recursive ? UInt(MS_REC) : 0), nil)
        }
        if volume.readOnly || volume.flags != 0 {
            // A bind mount is made read-only (nosuid, ...) by remounting it (the first mount
            // ignores those flags), through a descriptor opened anew: the old one still names
            // what lies beneath the new mount.
            let mountedFD = try sys("volume target", path: volume.target) { cshim_open_in_root(rootFD, volume.target, CSHIM_O_PATH) }
            defer { close(mountedFD) }
            try sys(volume.readOnly ? "remount read-only" : "remount", path: volume.target) {
                Glibc.mount(nil, "/proc/self/fd/\(mountedFD)", nil,
                            UInt(MS_BIND | MS_REMOUNT) | (volume.readOnly ? UInt(MS_RDONLY) : 0) | volume.flags, nil)
            }
        }
    }

    /// `--tmpfs`: a fresh tmpfs on a directory resolved inside the root (created if missing).
    static func mountTmpfs(_ mount: ContainerConfig.Mount, root: String) throws {
        let rootFD = try sys("open", path: root) { open(root, CSHIM_O_PATH | O_DIRECTORY | O_CLOEXEC) }
        defer { close(rootFD) }
        try ensureInRoot(rootFD, mount.destination, directory: true)
        let targetFD = try sys("tmpfs target", path: mount.destination) { cshim_open_in_root(rootFD, mount.destination, CSHIM_O_PATH) }
        defer { close(targetFD) }
        let (flags, data) = TmpfsSpec.mountArguments(mount.options)
        // `tmpcopyup` (podman's /tmp, /run on a read-only root): what the directory held is
        // copied into the new tmpfs, written while it is still writable.
        let copyUp = mount.options.contains("tmpcopyup")
        try sys("mount tmpfs", path: mount.destination) {
            Glibc.mount("tmpfs", "/proc/self/fd/\(targetFD)", "tmpfs", copyUp ? flags & ~UInt(MS_RDONLY) : flags, data.isEmpty ? nil : data)
        }
        guard copyUp else { return }
        let mountedFD = try sys("tmpfs target", path: mount.destination) { cshim_open_in_root(rootFD, mount.destination, CSHIM_O_PATH) }
        defer { close(mountedFD) }
        var copy = TreeCopy(keepOwner: true)
        defer { copy.finish() }
        try copy.copyContents(of: targetFD, from: mount.destination, into: mountedFD, to: mount.destination)
        if flags & UInt(MS_RDONLY) != 0 {
            try sys("remount read-only", path: mount.destination) {
                Glibc.mount(nil, "/proc/self/fd/\(mountedFD)", nil, UInt(MS_REMOUNT) | flags, data.isEmpty ? nil : data)
            }
        }
    }

    /// Creates what is missing of `path` inside the root: directories, and the last component as
    /// a directory or an empty file. Every lookup goes through openat2(RESOLVE_IN_ROOT); a
    /// dangling symlink on the way is followed the same way (its target taken inside the root)
    /// and what it points to is created, as runc does.
    static func ensureInRoot(_ rootFD: Int32, _ path: String, directory: Bool) throws {
        var parts = path.split(separator: "/").map(String.init)
        var i = 0
        var hops = 0
        while i < parts.count {
            let prefix = "/" + parts[0...i].joined(separator: "/")
            let probe = cshim_open_in_root(rootFD, prefix, CSHIM_O_PATH)
            if probe >= 0 { close(probe); i += 1; continue }
            guard errno == ENOENT else { throw SystemError.last("mount target", path: path) }
            let parent = "/" + parts[0..<i].joined(separator: "/")
            let parentFD = try sys("mount target", path: parent) { cshim_open_in_root(rootFD, parent, CSHIM_O_PATH | O_DIRECTORY) }
            defer { close(parentFD) }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
            let n = readlinkat(parentFD, parts[i], &buffer, buffer.count)
            if n > 0 {
                hops += 1
                guard hops <= 40 else { throw SystemError("mount target", path: path, errno: ELOOP) }
                let link = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                let base = link.hasPrefix("/") ? [] : Array(parts[0..<i])
                parts = base + link.split(separator: "/").map(String.init) + Array(parts[(i + 1)...])
                i = 0
                continue
            }
            if i == parts.count - 1 && !directory {
                let fd = try sys("create mount target", path: prefix) {
                    openat(parentFD, parts[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
                }
                close(fd)
            } else {
                try sys("mkdir", path: prefix) { mkdirat(parentFD, parts[i], 0o755) }
            }
            i += 1
        }
    }

    /// `--read-only`, after everything is mounted: the root's own mount becomes read-only
    /// (what is mounted on it, /proc, /dev, volumes, keeps its own flags).
    static func makeRootReadOnly() throws {
        try sys("remount / read-only", path: "/") { Glibc.mount(nil, "/", nil, UInt(MS_BIND | MS_REMOUNT | MS_RDONLY), nil) }
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

    /// Read-only unless privileged.
    static func mountSys(readOnly: Bool = true) throws {
        try mount("sysfs", "/sys", "sysfs", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC) | (readOnly ? UInt(MS_RDONLY) : 0))
    }

    /// `--device`: the node made in the container's /dev (after the pivot), with its mode and owner.
    static func makeDevice(_ device: ContainerConfig.Linux.Device) throws {
        let kind: mode_t
        switch device.type {
        case "c", "u": kind = S_IFCHR
        case "b": kind = S_IFBLK
        case "p": kind = S_IFIFO
        default: throw SpecError("device \(device.path): unknown type `\(device.type)`")
        }
        let dir = String(device.path[..<(device.path.lastIndex(of: "/") ?? device.path.startIndex)])
        if !dir.isEmpty && !Files.isDirectory(dir) { try Files.makeDirectories(dir) }
        unlink(device.path)
        let mode = mode_t(device.fileMode ?? 0o666) & 0o7777
        try sys("mknod", path: device.path) {
            mknod(device.path, kind | mode, cshim_makedev(UInt32(truncatingIfNeeded: device.major), UInt32(truncatingIfNeeded: device.minor)))
        }
        try sys("chmod", path: device.path) { chmod(device.path, mode) }
        if device.uid != nil || device.gid != nil {
            try sys("chown", path: device.path) { chown(device.path, device.uid ?? 0, device.gid ?? 0) }
        }
    }

    /// On a cgroup v2 host, as docker does with a private cgroup namespace: the container's own
    /// cgroup, read-only, where tools look for it.
    static func mountCgroup2() throws {
        try mount("cgroup2", "/sys/fs/cgroup", "cgroup2", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY))
    }

    /// On a cgroup v1 host, as docker does with a private cgroup namespace: a tmpfs at
    /// /sys/fs/cgroup holding each hierarchy the container joined, mounted read-only, each
    /// showing the container's own cgroup as its root (so the JVM and Python find their limits).
    static func mountCgroupV1(_ hierarchies: [String]) throws {
        let flags = UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC)
        try mount("cgroup", "/sys/fs/cgroup", "tmpfs", flags, "mode=755,size=64k")
        for entry in hierarchies {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].contains("/"), !parts[0].hasPrefix(".") else { continue }
            let target = "/sys/fs/cgroup/" + parts[0]
            try Files.makeDirectory(target)
            try mount("cgroup", target, "cgroup", flags | UInt(MS_RDONLY), parts[1])
        }
        try mount("", "/sys/fs/cgroup", nil, flags | UInt(MS_REMOUNT | MS_RDONLY))
    }

    /// Binds a generated file over the root's own (/etc/hosts, /etc/hostname, /etc/resolv.conf).
    /// A missing target (and /etc) is created first, as docker does: in the copy-on-write layer,
    /// or in the rootfs itself under --rootfs-rw, which asked for writes to go there. The path is
    /// resolved with openat2(RESOLVE_IN_ROOT), so a symlink in the rootfs cannot lead out of it;
    /// a target that is not a regular file (a directory, a device) is left alone.
    private static func bind(_ file: BindFile, rootfs root: String) throws {
        let rootFD = try sys("open", path: root) { open(root, CSHIM_O_PATH | O_DIRECTORY | O_CLOEXEC) }
        defer { close(rootFD) }
        // Best effort, as before these files were always given: a read-only rootfs under
        // --rootfs-rw without them runs without them.
        do { try ensureInRoot(rootFD, file.target, directory: false) } catch { return }
        let targetFD = try sys("open", path: file.target) { cshim_open_in_root(rootFD, file.target, CSHIM_O_PATH) }
        defer { close(targetFD) }
        var st = stat()
        guard fstat(targetFD, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return }
        try sys("mount bind", path: file.target) { Glibc.mount(file.source, "/proc/self/fd/\(targetFD)", nil, UInt(MS_BIND), nil) }
    }

    private static func ensureMountPoint(_ dir: String) throws {
        if Files.isDirectory(dir) { return }
        try Files.makeDirectory(dir)
    }

    private static func populateDev(shm: Shm) throws {
        try mount("tmpfs", "dev", "tmpfs", UInt(MS_NOSUID | MS_STRICTATIME), "mode=755,size=65536k")
        for device in devices {
            let path = "dev/" + device.name
            try sys("mknod", path: "/dev/" + device.name) { mknod(path, S_IFCHR | 0o666, cshim_makedev(device.major, device.minor)) }
            try sys("chmod", path: "/dev/" + device.name) { chmod(path, 0o666) }
        }
        try Files.makeDirectory("dev/pts")
        try mount("devpts", "dev/pts", "devpts", UInt(MS_NOSUID | MS_NOEXEC), "newinstance,ptmxmode=0666,mode=0620,gid=5")
        try Files.makeDirectory("dev/shm", mode: 0o1777)
        switch shm {
        case .size(let bytes):
            try mount("shm", "dev/shm", "tmpfs", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), "mode=1777,size=\(bytes)")
        case .host:
            try mount("/dev/shm", "dev/shm", nil, UInt(MS_BIND | MS_REC))
        case .bind(let source, let flags):
            // An OCI bundle's own /dev/shm (podman's, a pod's shared one).
            try mount(source, "dev/shm", nil, UInt(MS_BIND | MS_REC))
            if flags != 0 { try mount("none", "dev/shm", nil, UInt(MS_BIND | MS_REMOUNT) | flags) }
        }
        for (name, target) in deviceLinks {
            try sys("symlink", path: "/dev/" + name) { symlink(target, "dev/" + name) }
        }
    }
}
