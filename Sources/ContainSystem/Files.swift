#if canImport(Glibc)
import Glibc
#endif

/// Small, Foundation-free file helpers for the start path (cgroupfs, procfs, state files).
public enum Files {
    public static func read(_ path: String) throws -> String {
        let fd = try sys("open", path: path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = try sys("read", path: path) { chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes `contents` in a single write(2), as cgroupfs and procfs expect.
    /// `create` makes the file if missing (state files, and fake cgroup trees in tests);
    /// on cgroupfs an existing control file is simply opened.
    public static func write(_ path: String, _ contents: String, create: Bool = false, mode: mode_t = 0o644) throws {
        let flags = O_WRONLY | O_CLOEXEC | O_TRUNC | (create ? O_CREAT : 0)
        let fd = try sys("open", path: path) { open(path, flags, mode) }
        defer { close(fd) }
        var text = contents
        let n = try text.withUTF8 { buffer in
            try sys("write", path: path) { Glibc.write(fd, buffer.baseAddress, buffer.count) }
        }
        if n != contents.utf8.count { throw SystemError("write", path: path, errno: EIO) }
    }

    /// Writes `bytes` to a new file (or truncates one), in as many writes as it takes.
    public static func write(_ path: String, bytes: [UInt8], mode: mode_t = 0o644) throws {
        let fd = try sys("open", path: path) { open(path, O_WRONLY | O_CLOEXEC | O_TRUNC | O_CREAT, mode) }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = try sys("write", path: path) { bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } }
            offset += n
        }
    }

    public static func readBytes(_ path: String) throws -> [UInt8] {
        let fd = try sys("open", path: path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = try sys("read", path: path) { chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
            if n == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<n])
        }
    }

    /// Writes to a temporary file beside `path` and renames it over, so readers see old or new.
    public static func writeAtomically(_ path: String, _ contents: String, mode: mode_t = 0o644) throws {
        let temporary = path + ".tmp.\(getpid())"
        do {
            try write(temporary, contents, create: true, mode: mode)
            try sys("rename", path: path) { rename(temporary, path) }
        } catch {
            // A full filesystem fails the write: the half-written temporary must not stay.
            unlink(temporary)
            throw error
        }
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// mkdir that tolerates an existing directory when `existingOK`.
    public static func makeDirectory(_ path: String, mode: mode_t = 0o755, existingOK: Bool = false) throws {
        if mkdir(path, mode) == 0 { return }
        if Glibc.errno == EEXIST && existingOK && isDirectory(path) { return }
        throw SystemError.last("mkdir", path: path)
    }

    /// mkdir -p.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.splitASCII("/") {
            current += "/" + String(component)
            try makeDirectory(current, mode: mode, existingOK: true)
        }
    }

    public static func removeDirectory(_ path: String) throws {
        try sys("rmdir", path: path) { rmdir(path) }
    }

    /// Removes a directory and everything below it (state directories only; never a mount).
    public static func removeTree(_ path: String) throws {
        for entry in try list(path) {
            let child = path + "/" + entry
            var st = stat()
            if lstat(child, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
                try removeTree(child)
            } else {
                try sys("unlink", path: child) { unlink(child) }
            }
        }
        try removeDirectory(path)
    }

    /// What `treeUsage` counts.
    public enum Usage: Sendable {
        /// Blocks allocated, directories included: what removing the tree frees.
        case allocatedBlocks
        /// The sizes of everything but directories: docker's size of a container.
        case fileSizes
    }

    /// The bytes under `path` (itself included), each inode once (hard links, and the same
    /// file seen twice, count once); symlinks are not followed.
    public static func treeUsage(_ path: String, counting: Usage) -> Int64 {
        var seen = Set<[UInt64]>()
        func walk(_ path: String) -> Int64 {
            var st = stat()
            guard lstat(path, &st) == 0, seen.insert([UInt64(st.st_dev), UInt64(st.st_ino)]).inserted else { return 0 }
            let isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
            var total: Int64
            switch counting {
            case .allocatedBlocks: total = Int64(st.st_blocks) * 512
            case .fileSizes: total = isDirectory ? 0 : Int64(st.st_size)
            }
            if isDirectory {
                for name in (try? list(path)) ?? [] { total += walk(path + "/" + name) }
            }
            return total
        }
        return walk(path)
    }

    /// The names in a directory, without "." and "..".
    public static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw SystemError.last("opendir", path: path) }
        defer { closedir(dir) }
        return names(dir)
    }

    /// The names in the directory open as `directory` (an O_PATH descriptor will do: it is
    /// opened anew through it, so nothing on the way can be swapped), without "." and "..".
    /// `path` is for messages.
    public static func list(directory: Int32, path: String) throws -> [String] {
        let fd = try sys("open", path: path) { openat(directory, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard let dir = fdopendir(fd) else {
            let error = SystemError.last("opendir", path: path)
            close(fd)
            throw error
        }
        defer { closedir(dir) }
        return names(dir)
    }

    private static func names(_ dir: OpaquePointer) -> [String] {
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// A symlink's target.
    public static func readLink(_ path: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        let n = try sys("readlink", path: path) { readlink(path, &buffer, buffer.count) }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The canonical absolute path, symlinks resolved.
    public static func realPath(_ path: String) throws -> String {
        guard let resolved = realpath(path, nil) else { throw SystemError.last("realpath", path: path) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// `path` made absolute against the working directory, symlinks kept (where the user
    /// sees it, unlike realPath).
    public static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        guard let cwd = getcwd(nil, 0) else { return path }
        defer { free(cwd) }
        let directory = String(cString: cwd)
        return path == "." ? directory : directory + "/" + path
    }
}
