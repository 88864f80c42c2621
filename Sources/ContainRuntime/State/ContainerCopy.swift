import CContainShim
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain cp`: files between the host and a container's root filesystem, with docker's
/// rules for what the destination means.
///
/// | source                   | destination missing          | destination a file     | destination a directory |
/// |--------------------------|------------------------------|------------------------|-------------------------|
/// | a file                   | created (`dest/`: an error)  | replaced               | copied into it          |
/// | a directory `d`          | created with d's contents    | an error               | copied into it as `d`   |
/// | `d/.` (contents only)    | created with d's contents    | an error               | d's contents merged in  |
///
/// A destination that is a symlink is followed once (by its text, as docker's CLI does), then
/// the path is looked at again. A source symlink is copied as a symlink unless `followLink`
/// (`-L`). Inside a container every path is resolved with openat2(RESOLVE_IN_ROOT) from a
/// descriptor of its root, so `..` and absolute symlinks stay inside it, and below the
/// destination nothing is followed at all (TreeCopy): a symlink a container planted can send a
/// copy nowhere outside its root.
///
/// A running (or created) container is reached through its init's root, `/proc/PID/root`,
/// which sees its mounts: the copy-on-write layer, volumes, tmpfs. One that has ended is
/// reached through its layers, mounted again in a private mount namespace of this process
/// (gone with it): the rootfs under the copy-on-write layer kept in its record, or the rootfs
/// itself for `--rootfs-rw`.
public enum ContainerCopy {
    public struct Options: Sendable {
        /// `-L`: a source symlink is followed.
        public var followLink: Bool
        /// `-a`: the copy keeps the source's owner (otherwise it belongs to root).
        public var archive: Bool
        public init(followLink: Bool = false, archive: Bool = false) {
            self.followLink = followLink
            self.archive = archive
        }
    }

    /// Copies host `source` to `path` in the container; returns the bytes of content copied.
    @discardableResult
    public static func copy(fromHost source: String, to view: ContainerView, path: String, options: Options = Options()) throws -> Int64 {
        let root = try openRoot(view, writing: true)
        defer { close(root) }
        return try copy(from: FileTree(rootFD: -1, label: ""), source,
                        to: FileTree(rootFD: root, label: view.displayName + ":"), path, options: options)
    }

    /// Copies `path` in the container to host `destination`; returns the bytes copied.
    @discardableResult
    public static func copy(from view: ContainerView, path: String, toHost destination: String, options: Options = Options()) throws -> Int64 {
        let root = try openRoot(view, writing: false)
        defer { close(root) }
        return try copy(from: FileTree(rootFD: root, label: view.displayName + ":"), path,
                        to: FileTree(rootFD: -1, label: ""), destination, options: options)
    }

    /// The host (rootFD -1: paths as they are, from the working directory) or a container's
    /// root (every path resolved inside it).
    struct FileTree {
        let rootFD: Int32
        let label: String

        func open(_ path: String, _ flags: Int32) -> Int32 {
            rootFD < 0 ? Glibc.open(path, flags | O_CLOEXEC) : cshim_open_in_root(rootFD, path, flags)
        }

        func display(_ path: String) -> String { label + path }
    }

    /// Where the copy goes, once the destination path has been looked at.
    enum Target {
        /// An existing directory: the source goes into it.
        case directory(Int32)
        /// `name` in `parent`: made, or replacing the file that is there.
        case entry(parent: Int32, name: String, exists: Bool)

        func close() {
            switch self {
            case .directory(let fd), .entry(let fd, _, _): _ = Glibc.close(fd)
            }
        }
    }

    static func copy(from source: FileTree, _ sourcePath: String, to destination: FileTree, _ destinationPath: String,
                     options: Options) throws -> Int64 {
        let src = CopyPath(sourcePath)
        // `d/` and `d/.` name a directory: a symlink to one is followed, as a shell does.
        let wantsDirectory = src.trailingSlash || src.contentsOnly
        let sourceFD = source.open(wantsDirectory ? src.entry + "/" : src.entry,
                                   CSHIM_O_PATH | (options.followLink || wantsDirectory ? 0 : O_NOFOLLOW))
        guard sourceFD >= 0 else {
            switch errno {
            case ENOENT: throw RunFailure.runtime("no such file or directory: \(source.display(sourcePath))")
            case ENOTDIR where wantsDirectory: throw RunFailure.runtime("not a directory: \(source.display(sourcePath))")
            default: throw SystemError.last("open", path: source.display(sourcePath))
            }
        }
        defer { close(sourceFD) }
        var st = stat()
        try sys("stat", path: source.display(sourcePath)) { fstat(sourceFD, &st) }
        let isDirectory = st.st_mode & S_IFMT == S_IFDIR

        let target = try resolveDestination(destination, destinationPath)
        defer { target.close() }
        var copier = TreeCopy(keepOwner: options.archive)
        defer { copier.finish() }
        let from = source.display(src.entry)
        switch target {
        case .directory(let fd):
            let into = destination.display(destinationPath)
            if isDirectory && (src.contentsOnly || src.isRoot) {
                try copier.copyContents(of: sourceFD, from: from, into: fd, to: into)
            } else {
                try copier.copy(sourceFD, st, from: from, into: fd, name: src.base, to: TreeCopy.join(into, src.base))
            }
        case .entry(let parent, let name, let exists):
            if exists && isDirectory {
                throw RunFailure.runtime("cannot copy a directory to a file: \(destination.display(destinationPath))")
            }
            try copier.copy(sourceFD, st, from: from, into: parent, name: name, to: destination.display(destinationPath))
        }
        return copier.bytes
    }

    /// Looks at the destination: a directory to copy into, or a name in a directory. A symlink
    /// there is followed once, by its text (relative to its directory), as docker's CLI does;
    /// in a container the result is again resolved inside the root.
    static func resolveDestination(_ tree: FileTree, _ path: String) throws -> Target {
        var path = path
        var followed = false
        while true {
            let dest = CopyPath(path)
            if dest.namesDirectory {
                let fd = tree.open(dest.entry + "/", CSHIM_O_PATH | O_DIRECTORY)
                guard fd >= 0 else {
                    if errno == ENOENT { throw RunFailure.runtime("destination directory \(tree.display(path)) does not exist") }
                    if errno == ENOTDIR { throw RunFailure.runtime("destination \(tree.display(path)) is not a directory") }
                    throw SystemError.last("open", path: tree.display(path))
                }
                return .directory(fd)
            }
            let parent = tree.open(dest.parent, CSHIM_O_PATH | O_DIRECTORY)
            guard parent >= 0 else {
                if errno == ENOENT || errno == ENOTDIR {
                    throw RunFailure.runtime("no such directory: \(tree.display(dest.parent)) (for \(tree.display(path)))")
                }
                throw SystemError.last("open", path: tree.display(dest.parent))
            }
            var st = stat()
            guard fstatat(parent, dest.base, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                let error = errno
                guard error == ENOENT, !dest.trailingSlash else {
                    close(parent)
                    if error == ENOENT { throw RunFailure.runtime("destination directory \(tree.display(path)) does not exist") }
                    throw SystemError("stat", path: tree.display(path), errno: error)
                }
                return .entry(parent: parent, name: dest.base, exists: false)
            }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                let fd = openat(parent, dest.base, CSHIM_O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                let error = errno
                close(parent)
                guard fd >= 0 else { throw SystemError("open", path: tree.display(path), errno: error) }
                return .directory(fd)
            case S_IFLNK where !followed:
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let n = readlinkat(parent, dest.base, &buffer, buffer.count - 1)
                let error = errno
                close(parent)
                guard n >= 0 else { throw SystemError("readlink", path: tree.display(path), errno: error) }
                let link = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                path = CopyPath.followLink(link, in: dest.parent) + (dest.trailingSlash ? "/" : "")
                followed = true
            default:
                guard !dest.trailingSlash else {
                    close(parent)
                    throw RunFailure.runtime("destination \(tree.display(path)) is not a directory")
                }
                return .entry(parent: parent, name: dest.base, exists: true)
            }
        }
    }

    // MARK: the container's root

    /// A descriptor (O_PATH) of the root the container sees, or of its layers once it ended.
    static func openRoot(_ view: ContainerView, writing: Bool) throws -> Int32 {
        if view.isAlive, let pid = view.status.pid {
            let fd = open("/proc/\(pid.pid)/root", CSHIM_O_PATH | O_DIRECTORY | O_CLOEXEC)
            // The pid must still be the container's init once its root is open.
            if fd >= 0 && pid.isAlive { return fd }
            if fd >= 0 { close(fd) }
            guard let ended = ContainerRecord.find(directory: view.directory), !ended.isAlive else {
                throw RunFailure.runtime("container \(view.displayName): its root filesystem cannot be reached")
            }
            return try openEndedRoot(ended, writing: writing)
        }
        return try openEndedRoot(view, writing: writing)
    }

    private static func openEndedRoot(_ view: ContainerView, writing: Bool) throws -> Int32 {
        let rootfs = view.info.rootfs
        guard !rootfs.isEmpty, Files.isDirectory(rootfs) else {
            throw RunFailure.runtime("container \(view.displayName) has ended and its root filesystem `\(rootfs)` is gone: nothing to copy")
        }
        let upper = view.directory + "/upper", work = view.directory + "/work", merged = view.directory + "/merged"
        var root = rootfs
        if Files.isDirectory(upper) {
            let readOnly = (try? ContainerRecord.configuration(of: view))?.root.readonly ?? false
            if writing && readOnly {
                throw RunFailure.runtime("container \(view.displayName) has a read-only root filesystem")
            }
            try Files.makeDirectory(merged, mode: 0o755, existingOK: true)
            try enterPrivateMountNamespace()
            // Reading needs no work directory: both layers, read-only, the upper one on top.
            let options = writing ? "lowerdir=\(rootfs),upperdir=\(upper),workdir=\(work)" : "lowerdir=\(upper):\(rootfs)"
            try sys("mount overlay", path: merged) {
                mount("overlay", merged, "overlay", writing ? 0 : UInt(MS_RDONLY), options)
            }
            root = merged
        }
        return try sys("open", path: root) { open(root, CSHIM_O_PATH | O_DIRECTORY | O_CLOEXEC) }
    }

    /// A mount namespace of this process's own, every mount private: what is mounted in it
    /// is seen by nobody else and goes when the process ends.
    private static func enterPrivateMountNamespace() throws {
        try sys("unshare", path: "mount namespace") { cshim_unshare(Int32(CLONE_NEWNS)) }
        try sys("mount", path: "/") { mount("none", "/", nil, UInt(MS_REC | MS_PRIVATE), nil) }
    }
}

/// A path as `cp` reads it: where it leads, and what its spelling adds (docker's rules).
///
///     /a/b      entry /a/b, parent /a, base b
///     /a/b/     the same, and it must be a directory
///     /a/b/.    the same, and a source directory's contents are meant, not itself
///     /         the root: a directory by name
struct CopyPath: Equatable {
    /// The path without its trailing `/` and `/.`.
    let entry: String
    let parent: String
    /// The last name; empty for the root.
    let base: String
    let trailingSlash: Bool
    let contentsOnly: Bool

    init(_ path: String) {
        var p = Substring(path)
        var contents = false, slash = false
        while true {
            if p.hasSuffix("/.") { p = p.dropLast(2); contents = true; continue }
            if p.count > 1 && p.hasSuffix("/") { p = p.dropLast(); slash = true; continue }
            break
        }
        if p.isEmpty { p = path.hasPrefix("/") ? "/" : "." }  // "/." and "./" alike
        entry = String(p)
        trailingSlash = slash
        if p == "/" {
            parent = "/"
            base = ""
        } else if let last = p.lastIndex(of: "/") {
            parent = last == p.startIndex ? "/" : String(p[..<last])
            base = String(p[p.index(after: last)...])
        } else {
            parent = "."
            base = String(p)
        }
        contentsOnly = contents || base == "." || base == ".."
    }

    var isRoot: Bool { base.isEmpty }

    /// The path names a directory by its spelling alone (`/`, `.`, `x/.`).
    var namesDirectory: Bool { isRoot || contentsOnly }

    /// A symlink's target as a path: absolute as it is, relative from the link's directory.
    static func followLink(_ target: String, in directory: String) -> String {
        if target.hasPrefix("/") { return target }
        return directory.hasSuffix("/") ? directory + target : directory + "/" + target
    }
}
