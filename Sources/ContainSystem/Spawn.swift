import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// The programs a lab runs (contain itself, Graphviz's dot): posix_spawn with an argument
/// vector, no shell; stdin /dev/null; no signal blocked and default handlers in the child,
/// whatever this process blocks (a signalfd's signals).
enum Spawn {
    /// Starts `program` with `arguments` (argv[0] first); `stdout` and `stderr` replace the
    /// child's (nil: this process's own).
    static func start(_ program: String, _ arguments: [String], stdout: Int32? = nil, stderr: Int32? = nil) throws(SystemError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let stdout { posix_spawn_file_actions_adddup2(&actions, stdout, 1) }
        if let stderr { posix_spawn_file_actions_adddup2(&actions, stderr, 2) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, program, &actions, &attributes, argv, environ)
        guard result == 0 else { throw SystemError("posix_spawn", path: program, errno: result) }
        return pid
    }
}
