#if canImport(Glibc)
import Glibc
#endif

/// Finds the executable for argv[0] the way a shell does, in the container's PATH.
enum CommandResolver {
    enum Resolution: Equatable {
        case found(String)
        /// Not there at all: exit 127.
        case notFound
        /// There, but not runnable (permissions, a directory): exit 126.
        case notExecutable(String, errno: Int32)
    }

    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    static func resolve(_ command: String, environment: [String],
                        isExecutable: (String) -> Int32 = checkExecutable) -> Resolution {
        // An empty name is no command at all (a shell and docker say 127), not a directory of PATH.
        if command.isEmpty { return .notFound }
        if command.contains("/") {
            let err = isExecutable(command)
            if err == 0 { return .found(command) }
            return err == ENOENT || err == ENOTDIR ? .notFound : .notExecutable(command, errno: err)
        }
        let path = environment.first(where: { $0.hasPrefix("PATH=") }).map { String($0.dropFirst(5)) } ?? defaultPath
        var firstDenied: (String, Int32)?
        for dir in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + command
            let err = isExecutable(candidate)
            if err == 0 { return .found(candidate) }
            if err != ENOENT && err != ENOTDIR && firstDenied == nil { firstDenied = (candidate, err) }
        }
        if let (candidate, err) = firstDenied { return .notExecutable(candidate, errno: err) }
        return .notFound
    }

    /// 0 when `path` is a regular file we may execute, otherwise the errno execve would give.
    static func checkExecutable(_ path: String) -> Int32 {
        var st = stat()
        if stat(path, &st) != 0 { return errno }
        if (st.st_mode & S_IFMT) == S_IFDIR { return EACCES }
        return access(path, X_OK) == 0 ? 0 : errno
    }
}
