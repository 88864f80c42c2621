// One-line wrappers for calls Swift cannot reach: see contain_shim.h for why each exists.
#define _GNU_SOURCE
#include "contain_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int cshim_pivot_root(const char *new_root, const char *put_old) {
    return (int)syscall(SYS_pivot_root, new_root, put_old);
}

int cshim_unshare(int flags) { return unshare(flags); }

int cshim_setns(int fd, int nstype) { return setns(fd, nstype); }

int cshim_statfs_type(const char *path, long *type) {
    struct statfs st;
    if (statfs(path, &st) != 0) return -1;
    *type = (long)st.f_type;
    return 0;
}

int cshim_signalfd_open(const int *signals, int count) {
    sigset_t all, wanted;
    sigfillset(&all);
    if (pthread_sigmask(SIG_SETMASK, &all, NULL) != 0) return -1;
    sigemptyset(&wanted);
    for (int i = 0; i < count; i++) sigaddset(&wanted, signals[i]);
    return signalfd(-1, &wanted, SFD_CLOEXEC | SFD_NONBLOCK);
}

int cshim_signalfd_read(int fd, int *signo, int *code, int *sender_pid) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n < 0) return (errno == EAGAIN) ? 0 : -1;
    if (n != sizeof info) { errno = EIO; return -1; }
    *signo = (int)info.ssi_signo;
    *code = info.ssi_code;
    *sender_pid = (int)info.ssi_pid;
    return 1;
}

int cshim_unblock_all_signals(void) {
    sigset_t empty;
    sigemptyset(&empty);
    return pthread_sigmask(SIG_SETMASK, &empty, NULL);
}

unsigned long cshim_makedev(unsigned int major, unsigned int minor) {
    return (unsigned long)makedev(major, minor);
}

long cshim_getrandom(void *buffer, unsigned long length) { return getrandom(buffer, length, 0); }

int cshim_set_dumpable(int dumpable) { return prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0); }

int cshim_set_pdeathsig(int signal) { return prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0); }

#include <linux/openat2.h>

int cshim_open_in_root(int root_fd, const char *path, int flags) {
    struct open_how how = {
        .flags = (unsigned long long)(flags | O_CLOEXEC),
        .mode = 0,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof how);
}
