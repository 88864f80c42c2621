#if canImport(Glibc)
import Glibc
#endif

/// Programs the runtime runs (a lab's contain commands, Graphviz's dot, config.json's hooks):
/// posix_spawn with an argument vector, no shell; no signal blocked and default handlers in the
/// child, whatever this process blocks (a signalfd's signals).
public enum Spawn {
    /// Starts `program` with `arguments` (argv[0] first). `stdin` (nil: /dev/null), `stdout`
    /// and `stderr` (nil: this process's own) become the child's 0, 1 and 2; `environment`
    /// replaces this process's; `closeOthers`: no other descriptor reaches the child, whether
    /// close-on-exec or not (the init's sync socket is not).
    public static func start(_ program: String, _ arguments: [String], stdin: Int32? = nil, stdout: Int32? = nil,
                             stderr: Int32? = nil, environment: [String]? = nil, closeOthers: Bool = false) throws(SystemError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdin {
            posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        if let stdout { posix_spawn_file_actions_adddup2(&actions, stdout, 1) }
        if let stderr { posix_spawn_file_actions_adddup2(&actions, stderr, 2) }
        if closeOthers { _ = spawnActionsCloseFrom(&actions, 3) }

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
        let result: Int32
        if let environment {
            var envp = environment.map { strdup($0) } + [nil]
            defer { envp.forEach { free($0) } }
            result = posix_spawn(&pid, program, &actions, &attributes, argv, &envp)
        } else {
            result = posix_spawn(&pid, program, &actions, &attributes, argv, environ)
        }
        guard result == 0 else { throw SystemError("posix_spawn", path: program, errno: result) }
        return pid
    }
}

/// glibc 2.34's posix_spawn_file_actions_addclosefrom_np, which Swift's Glibc module does not show.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func spawnActionsCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32
