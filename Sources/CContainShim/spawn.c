// Everything between clone and exec happens here, in C: see contain_shim.h.
#define _GNU_SOURCE
#include "contain_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

enum { SYNC_FD_IN_CHILD = 3 };

static void write_errno_and_exit(int fd, int err) {
    ssize_t ignored = write(fd, &err, sizeof err);
    (void)ignored;
    _exit(127);
}

// Runs in the child, between clone and execve: async-signal-safe calls only.
static void child_exec(const struct cshim_spawn_request *req, int err_fd) {
    // Handlers installed by the parent's runtime must not survive; the mask is inherited
    // across execve, so clear it too.
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, NULL);
    }
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);

    if (req->pdeathsig != 0 && prctl(PR_SET_PDEATHSIG, req->pdeathsig, 0, 0, 0) != 0)
        write_errno_and_exit(err_fd, errno);

    if (req->new_session && setsid() < 0) write_errno_and_exit(err_fd, errno);
    // The standard streams the caller chose (pipes contain relays, /dev/null), before fd 3 is
    // rearranged: their sources are all above 2.
    int stdio[3] = {req->stdin_fd, req->stdout_fd, req->stderr_fd};
    for (int i = 0; i < 3; i++) {
        if (stdio[i] >= 0 && stdio[i] != i && dup2(stdio[i], i) < 0) write_errno_and_exit(err_fd, errno);
    }

    // Keep the error pipe clear of fd 3 before moving the sync socket there.
    if (err_fd <= SYNC_FD_IN_CHILD) {
        int moved = fcntl(err_fd, F_DUPFD_CLOEXEC, SYNC_FD_IN_CHILD + 1);
        if (moved < 0) _exit(127);
        err_fd = moved;
    }
    if (req->sync_fd >= 0) {
        if (req->sync_fd == SYNC_FD_IN_CHILD) {
            if (fcntl(SYNC_FD_IN_CHILD, F_SETFD, 0) != 0) write_errno_and_exit(err_fd, errno);
        } else if (dup2(req->sync_fd, SYNC_FD_IN_CHILD) < 0) {
            write_errno_and_exit(err_fd, errno);
        }
    }
    // Nothing else of the parent's leaks into the container.
    syscall(SYS_close_range, SYNC_FD_IN_CHILD + 1, ~0U, CLOSE_RANGE_CLOEXEC);

    execve(req->path, req->argv, req->envp);
    write_errno_and_exit(err_fd, errno);
}

pid_t cshim_spawn(const struct cshim_spawn_request *req) {
    int err_pipe[2];
    if (pipe2(err_pipe, O_CLOEXEC) != 0) return -1;

    // No signal handler may run in the child before it resets them.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);

    // fork semantics (no new stack): the child runs on a copy of this stack.
    pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)(req->clone_flags | SIGCHLD), 0, 0, 0, 0);
    if (pid == 0) {
        close(err_pipe[0]);
        child_exec(req, err_pipe[1]);
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(err_pipe[1]);
    if (pid < 0) {
        close(err_pipe[0]);
        errno = saved;
        return -1;
    }

    int child_errno = 0;
    ssize_t n;
    do {
        n = read(err_pipe[0], &child_errno, sizeof child_errno);
    } while (n < 0 && errno == EINTR);
    close(err_pipe[0]);
    if (n == 0) return pid;  // EOF: execve succeeded

    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    errno = (n == sizeof child_errno) ? child_errno : EIO;
    return -1;
}

#include <spawn.h>

pid_t cshim_spawn_session(const char *path, char *const *argv, char *const *envp, int stderr_fd) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    pid_t pid = -1;
    if (posix_spawn_file_actions_init(&actions) != 0) return -1;
    if (posix_spawnattr_init(&attr) != 0) { posix_spawn_file_actions_destroy(&actions); return -1; }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    int rc = posix_spawn(&pid, path, &actions, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) { errno = rc; return -1; }
    return pid;
}
