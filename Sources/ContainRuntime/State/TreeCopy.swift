import CContainShim
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// Copies a file, a symlink, a special file or a directory tree from one open directory to
/// another, by file descriptors only (`contain cp`).
///
/// Nothing is ever followed: every entry is looked up one name at a time relative to its
/// parent's descriptor, with `O_NOFOLLOW`. A source symlink is copied as a symlink; an entry in
/// the way at the destination is replaced (unlinked, then made anew with `O_EXCL`), never
/// written through, as tar does. So a tree that holds symlinks (a container's, either way)
/// cannot send a write anywhere but below the destination directory it started from.
///
/// Mode, times and (with `keepOwner`, docker's `-a`) owner are kept; without it the copy
/// belongs to the caller. Hard links within the copy stay hard links. Sockets are skipped.
struct TreeCopy {
    let keepOwner: Bool
    /// Bytes of file content copied.
    private(set) var bytes: Int64 = 0
    /// Directories this copy made: a source directory among them is the copy's own output
    /// (the destination below the source) and is not copied again.
    private var made = Set<FileKey>()
    /// Destination files of sources with several links, open (O_PATH) to link to again.
    private var linked: [FileKey: Int32] = [:]
    private var buffer = [UInt8](repeating: 0, count: 1 << 17)

    struct FileKey: Hashable {
        let device: UInt64
        let inode: UInt64
        init(_ st: stat) { device = UInt64(st.st_dev); inode = UInt64(st.st_ino) }
    }

    init(keepOwner: Bool) { self.keepOwner = keepOwner }

    /// Closes what was kept open for hard links.
    mutating func finish() {
        for fd in linked.values { close(fd) }
        linked.removeAll()
    }

    /// Copies the entry `source` (an O_PATH descriptor, `st` its fstat) to `name` in the
    /// directory `directory`. `from` and `to` name both for messages.
    mutating func copy(_ source: Int32, _ st: stat, from: String, into directory: Int32, name: String, to: String) throws {
        let type = st.st_mode & S_IFMT
        if type == S_IFSOCK { return }  // as tar: a socket cannot be copied
        if type == S_IFDIR && made.contains(FileKey(st)) { return }  // the copy itself, inside its source
        var existing = stat()
        let exists = fstatat(directory, name, &existing, AT_SYMLINK_NOFOLLOW) == 0
        let existingDirectory = exists && existing.st_mode & S_IFMT == S_IFDIR
        if existingDirectory && type != S_IFDIR {
            throw RunFailure.runtime("cannot overwrite directory `\(to)` with non-directory `\(from)`")
        }
        var inPlace = false
        if exists && !existingDirectory && unlinkat(directory, name, 0) != 0 {
            // A file bound over (a mount point, EBUSY) is written into instead.
            guard errno == EBUSY, type == S_IFREG, existing.st_mode & S_IFMT == S_IFREG else { throw SystemError.last("unlink", path: to) }
            inPlace = true
        }
        // Another name of a file copied already: linked to its copy (unless that is on another
        // filesystem, a volume: then copied again).
        if type != S_IFDIR, st.st_nlink > 1, let first = linked[FileKey(st)],
           linkat(first, "", directory, name, CSHIM_AT_EMPTY_PATH) == 0 {
            return
        }
        switch type {
        case S_IFREG:
            let input = try sys("open", path: from) { open("/proc/self/fd/\(source)", O_RDONLY | O_CLOEXEC) }
            defer { close(input) }
            let flags = inPlace ? O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC : O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC
            let output = try sys("create", path: to) { openat(directory, name, flags, 0o600) }
            defer { close(output) }
            try copyContent(input, output, from: from, to: to)
            try applyAttributes(output, st, path: to)
            if st.st_nlink > 1, linked.count < 4096, linked[FileKey(st)] == nil {
                let copy = openat(directory, name, CSHIM_O_PATH | O_NOFOLLOW | O_CLOEXEC)
                if copy >= 0 { linked[FileKey(st)] = copy }
            }
        case S_IFDIR:
            if !existingDirectory {
                try sys("mkdir", path: to) { mkdirat(directory, name, 0o700) }
            }
            let output = try sys("open", path: to) { openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            defer { close(output) }
            var made = stat()
            try sys("stat", path: to) { fstat(output, &made) }
            self.made.insert(FileKey(made))
            try copyContents(of: source, from: from, into: output, to: to)
            try applyAttributes(output, st, path: to)
        case S_IFLNK:
            let target = try Self.readLink(source, path: from)
            try sys("symlink", path: to) { symlinkat(target, directory, name) }
            if keepOwner { try sys("chown", path: to) { fchownat(directory, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) } }
            var times = [st.st_atim, st.st_mtim]
            try sys("utimensat", path: to) { utimensat(directory, name, &times, AT_SYMLINK_NOFOLLOW) }
        default:  // FIFO, character or block device: made anew, never opened for reading
            try sys("mknod", path: to) { mknodat(directory, name, st.st_mode, st.st_rdev) }
            let made = try sys("open", path: to) { openat(directory, name, CSHIM_O_PATH | O_NOFOLLOW | O_CLOEXEC) }
            defer { close(made) }
            var check = stat()
            try sys("stat", path: to) { fstat(made, &check) }
            guard check.st_mode & S_IFMT == type else { throw SystemError("mknod", path: to, errno: EEXIST) }
            // Through the descriptor's /proc link: the very node made, whatever the name means now.
            if keepOwner { try sys("chown", path: to) { fchownat(made, "", st.st_uid, st.st_gid, CSHIM_AT_EMPTY_PATH) } }
            try sys("chmod", path: to) { chmod("/proc/self/fd/\(made)", st.st_mode & 0o7777) }
            var times = [st.st_atim, st.st_mtim]
            try sys("utimensat", path: to) { utimensat(AT_FDCWD, "/proc/self/fd/\(made)", &times, 0) }
        }
    }

    /// Copies what the directory `source` (an O_PATH descriptor) holds into the open
    /// directory `directory`, merging with what is there.
    mutating func copyContents(of source: Int32, from: String, into directory: Int32, to: String) throws {
        var st = stat()
        try sys("stat", path: from) { fstat(source, &st) }
        if made.contains(FileKey(st)) { return }  // the copy itself, inside its source
        for name in try Self.names(source, path: from) {
            let child = openat(source, name, CSHIM_O_PATH | O_NOFOLLOW | O_CLOEXEC)
            if child < 0 {
                if errno == ENOENT { continue }  // gone meanwhile
                throw SystemError.last("open", path: from + "/" + name)
            }
            defer { close(child) }
            var childStat = stat()
            try sys("stat", path: from + "/" + name) { fstat(child, &childStat) }
            try copy(child, childStat, from: Self.join(from, name), into: directory, name: name, to: Self.join(to, name))
        }
    }

    /// The names in a directory (an O_PATH descriptor), without `.` and `..`, sorted.
    static func names(_ directory: Int32, path: String) throws -> [String] {
        try Files.list(directory: directory, path: path).sorted()
    }

    /// The target of a symlink, from its O_PATH descriptor.
    static func readLink(_ fd: Int32, path: String) throws -> String {
        var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = try sys("readlink", path: path) { readlinkat(fd, "", &target, target.count - 1) }
        return String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func join(_ path: String, _ name: String) -> String { path.hasSuffix("/") ? path + name : path + "/" + name }

    private mutating func copyContent(_ input: Int32, _ output: Int32, from: String, to: String) throws {
        while true {
            let n = try sys("read", path: from) { buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) } }
            if n == 0 { return }
            var offset = 0
            while offset < n {
                offset += try sys("write", path: to) { buffer.withUnsafeBytes { write(output, $0.baseAddress! + offset, n - offset) } }
            }
            bytes += Int64(n)
        }
    }

    /// Owner (with keepOwner) first, since chown clears set-id bits; then mode; times last.
    private func applyAttributes(_ fd: Int32, _ st: stat, path: String) throws {
        if keepOwner { try sys("chown", path: path) { fchown(fd, st.st_uid, st.st_gid) } }
        try sys("chmod", path: path) { fchmod(fd, st.st_mode & 0o7777) }
        var times = [st.st_atim, st.st_mtim]
        try sys("futimens", path: path) { futimens(fd, &times) }
    }
}
