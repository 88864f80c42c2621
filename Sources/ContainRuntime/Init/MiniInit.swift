import CContainShim
#if canImport(Glibc)
import Glibc
#endif

/// `--init`: the container's PID 1 stays this small loop instead of becoming the command. The
/// command runs as its child; every signal PID 1 gets is passed on to it (so SIGTERM works even
/// for a program without a handler), orphans re-parented to PID 1 are reaped, and when the
/// command ends, PID 1 exits with its status (128+N for signal N), as tini does.
enum MiniInit {
    static func run(path: String, argv: [UnsafeMutablePointer<CChar>?], envp: [UnsafeMutablePointer<CChar>?], syncFD: Int32,
                    delayMilliseconds: UInt32 = 0) -> Never {
        var all = sigset_t()
        sigfillset(&all)
        var previous = sigset_t()
        sigprocmask(SIG_SETMASK, &all, &previous)
        let child = fork()
        if child == 0 {
            // The sync socket is close-on-exec here: the parent sees end of file on exec, or
            // gets the reason if exec fails.
            sigprocmask(SIG_SETMASK, &previous, nil)
            if delayMilliseconds > 0 { usleep(delayMilliseconds * 1000) }
            execve(path, argv, envp)
            let err = errno
            _ = fcntl(syncFD, F_SETFD, 0)
            var message = SyncMessage.execFailed(command: path, errno: err).encoded()
            _ = send(syncFD, &message, message.count, Int32(MSG_NOSIGNAL))
            _exit(err == ENOENT ? 127 : 126)
        }
        close(syncFD)
        if child < 0 { _exit(125) }
        while true {
            var info = siginfo_t()
            let signal = sigwaitinfo(&all, &info)
            if signal < 0 { continue }
            if signal == SIGCHLD {
                var status: Int32 = 0
                while true {
                    let pid = waitpid(-1, &status, WNOHANG)
                    if pid <= 0 { break }
                    if pid == child {
                        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                        _exit(code)
                    }
                }
            } else if !(info.si_code == kernelOrigin && terminalSignals.contains(signal)) {
                // What the terminal sent reached the whole foreground process group, the
                // command included: passing it on would deliver it twice.
                _ = kill(child, signal)
            }
        }
    }

    /// SI_KERNEL: the signal came from the kernel (a terminal's Ctrl-C, a window change).
    static let kernelOrigin: Int32 = 0x80
    static let terminalSignals: Set<Int32> = [SIGINT, SIGQUIT, SIGWINCH, SIGHUP, SIGTSTP]
}
