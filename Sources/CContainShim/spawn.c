// Everything between clone and exec (or a forked init's return to Swift) happens here, in C:
// see contain_shim.h.
#define _GNU_SOURCE
#include "contain_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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

// Runs in the child, between clone and execve (or, for a forked init, before it returns to
// the caller): async-signal-safe calls only. Returns the error pipe's descriptor, moved clear
// of fd 3.
static int child_prepare(const struct cshim_spawn_request *req, int err_fd) {
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
    return err_fd;
}

// fork semantics (no new stack): the child runs on a copy of this stack. With a cgroup
// directory, clone3 makes the child in that cgroup (CLONE_INTO_CGROUP, Linux 5.7, cgroup v2):
// nothing to migrate afterwards. Where clone3 refuses, a plain clone, and *in_cgroup stays 0.
static pid_t clone_child(const struct cshim_spawn_request *req, int *in_cgroup) {
    *in_cgroup = 0;
#if defined(CLONE_INTO_CGROUP) && defined(SYS_clone3)
    if (req->cgroup_fd >= 0) {
        struct clone_args args;
        memset(&args, 0, sizeof args);
        args.flags = (unsigned long long)(unsigned int)req->clone_flags | CLONE_INTO_CGROUP;
        args.exit_signal = SIGCHLD;
        args.cgroup = (unsigned long long)req->cgroup_fd;
        pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
        if (pid >= 0) {
            *in_cgroup = 1;
            return pid;
        }
    }
#endif
    return (pid_t)syscall(SYS_clone, (unsigned long)(req->clone_flags | SIGCHLD), 0, 0, 0, 0);
}

pid_t cshim_spawn(struct cshim_spawn_request *req) {
    int err_pipe[2];
    if (pipe2(err_pipe, O_CLOEXEC) != 0) return -1;
    // A forked child shares nothing buffered: what stdio holds would be written twice.
    if (req->path == NULL) fflush(NULL);

    // No signal handler may run in the child before it resets them.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);

    int in_cgroup = 0;
    pid_t pid = clone_child(req, &in_cgroup);
    if (pid == 0) {
        close(err_pipe[0]);
        int err_fd = child_prepare(req, err_pipe[1]);
        if (req->path == NULL) {
            // Forked: nothing else of the parent's stays open (the error pipe included, which
            // tells the parent the child is ready), nor its environment. Non-dumpable until its
            // command's execve: nothing without CAP_SYS_PTRACE opens its /proc files (its exe,
            // the host's binary, above all).
            prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
            syscall(SYS_close_range, SYNC_FD_IN_CHILD + 1, ~0U, 0);
            clearenv();
            req->born_in_cgroup = in_cgroup;
            return 0;
        }
        // Nothing else of the parent's leaks into the container.
        syscall(SYS_close_range, SYNC_FD_IN_CHILD + 1, ~0U, CLOSE_RANGE_CLOEXEC);
        execve(req->path, req->argv, req->envp);
        write_errno_and_exit(err_fd, errno);
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(err_pipe[1]);
    if (pid < 0) {
        close(err_pipe[0]);
        errno = saved;
        return -1;
    }
    req->born_in_cgroup = in_cgroup;

    int child_errno = 0;
    ssize_t n;
    do {
        n = read(err_pipe[0], &child_errno, sizeof child_errno);
    } while (n < 0 && errno == EINTR);
    close(err_pipe[0]);
    if (n == 0) return pid;  // EOF: execve succeeded (or the forked child is ready)

    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    errno = (n == sizeof child_errno) ? child_errno : EIO;
    return -1;
}

int cshim_thread_count(void) {
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char buffer[1024];
    ssize_t n = read(fd, buffer, sizeof buffer - 1);
    close(fd);
    if (n <= 0) return -1;
    buffer[n] = 0;
    // Fields after the command's closing parenthesis: state is field 3, num_threads field 20.
    char *p = strrchr(buffer, ')');
    if (p == NULL) return -1;
    int field = 2;
    for (; *p && field < 20; p++) {
        if (*p == ' ') field++;
    }
    return field == 20 ? atoi(p) : -1;
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
