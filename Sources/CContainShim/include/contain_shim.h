// contain's C shim: the few kernel calls Swift cannot make directly, each wrapping one thing.
//
// Why each exists:
//   cshim_spawn          clone + exec in one C function. After a Swift process has threads a
//                        forked child may only do async-signal-safe work, so everything between
//                        clone and execve lives here (signal reset, fd moves, PDEATHSIG). From
//                        a single-threaded process it also forks the init without an exec
//                        (path NULL), and clone3 places the child in its cgroup v2.
//   cshim_pivot_root     pivot_root(2) has no glibc wrapper.
//   cshim_unshare        unshare(2) is hidden from Swift's Glibc module (needs _GNU_SOURCE).
//   cshim_statfs_type    struct statfs is not visible from Swift's Glibc module.
//   cshim_signalfd_*     signalfd(2) and struct signalfd_siginfo are not visible either.
//   cshim_makedev        makedev() is a macro.
//   cshim_getrandom      getrandom(2) is not in Swift's Glibc module.
//   cshim_set_dumpable   prctl(2) is variadic (so is cshim_set_pdeathsig).
//   exec_join.c          contain exec joins namespaces in an ELF constructor, before Swift runs;
//                        and makes the read-only view (or sealed memfd copy) of the binary it
//                        runs from.
//   cshim_spawn_session  posix_spawn's setsid and closefrom flags are GNU extensions.
//   cshim_argc/argv      the argument vector as glibc gave it to the constructors: the static
//                        Swift runtime reads /proc/self/cmdline, which exec's helper cannot
//                        see once inside the container (arguments.c).
//   cshim_open_in_root   openat2(2) has no glibc wrapper; RESOLVE_IN_ROOT resolves a path as if
//                        root_fd were "/", so a symlink in a rootfs cannot lead out of it.
#ifndef CONTAIN_SHIM_H
#define CONTAIN_SHIM_H

// No _GNU_SOURCE here: this header is imported next to Swift's Glibc module and must see the
// system headers exactly as it does. The .c files define it for themselves.

#include <sys/types.h>
#include <linux/sched.h>   /* CLONE_NEW* */
#include <linux/magic.h>   /* CGROUP2_SUPER_MAGIC, TMPFS_MAGIC */

/// What cshim_spawn runs and how.
struct cshim_spawn_request {
    const char *path;          /* executable to run, e.g. "/proc/self/exe"; NULL: none, the
                                  child returns 0 to the caller (a single-threaded one only) */
    char *const *argv;         /* NULL-terminated */
    char *const *envp;         /* NULL-terminated */
    int clone_flags;           /* CLONE_NEW* namespaces for the child */
    int sync_fd;               /* becomes fd 3 in the child (inherited across exec) */
    int pdeathsig;             /* signal the child gets when the parent dies, 0 for none */
    int stdin_fd;              /* become fds 0, 1, 2 in the child; -1: inherit the parent's */
    int stdout_fd;
    int stderr_fd;
    int new_session;           /* setsid(): a terminal's signals reach contain, not the child */
    int cgroup_fd;             /* a cgroup v2 directory the child is born in, -1 for none */
    int born_in_cgroup;        /* out: 1 when clone3 placed the child in cgroup_fd's cgroup (both sides of a fork) */
};

/// Clones a child into new namespaces and execs request->path there.
/// Returns the child's pid once execve succeeded (seen as EOF on a close-on-exec pipe).
/// Returns -1 with errno set when clone failed, or when execve failed in the child; in the
/// latter case the child has been reaped and errno is the child's execve errno.
/// With path NULL the child does not exec: once its signals, streams and fd 3 are set, every
/// other descriptor closed and its environment cleared, cshim_spawn returns 0 in it, and the
/// child's pid in the parent. Only for a single-threaded caller (cshim_thread_count).
pid_t cshim_spawn(struct cshim_spawn_request *request);
/// The number of threads of this process (/proc/self/stat), -1 when it cannot be read.
int cshim_thread_count(void);

int cshim_pivot_root(const char *new_root, const char *put_old);
int cshim_unshare(int flags);
/// setns(2), hidden like unshare: the init joins `--net container:NAME`'s namespace with it.
int cshim_setns(int fd, int nstype);
/// Stores the filesystem magic of path in *type; returns 0, or -1 with errno.
int cshim_statfs_type(const char *path, long *type);

/// Blocks every signal on the calling thread and returns a signalfd for `signals`
/// (a NULL-terminated-by-zero list of signal numbers), close-on-exec. -1 with errno on failure.
int cshim_signalfd_open(const int *signals, int count);
/// Reads one signal from a signalfd. Returns 1 with the fields filled in, 0 when none is
/// pending (non-blocking fd), -1 with errno.
int cshim_signalfd_read(int fd, int *signo, int *code, int *sender_pid);
/// Restores an empty signal mask on the calling thread.
int cshim_unblock_all_signals(void);

unsigned long cshim_makedev(unsigned int major, unsigned int minor);
long cshim_getrandom(void *buffer, unsigned long length);
int cshim_set_dumpable(int dumpable);
/// prctl(PR_SET_PDEATHSIG, signal): 0 lets a detached container outlive its supervisor.
int cshim_set_pdeathsig(int signal);

/// Capabilities (security.c): prctl is variadic, capset(2) has no glibc wrapper.
/// prctl(PR_CAPBSET_DROP, cap).
int cshim_capbset_drop(int cap);
/// capset(2), version 3, with 64-bit masks.
int cshim_capset(unsigned long long effective, unsigned long long permitted, unsigned long long inheritable);
/// prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL) and PR_CAP_AMBIENT_RAISE of one capability.
int cshim_cap_ambient_clear(void);
int cshim_cap_ambient_raise(int cap);
/// prctl(PR_SET_NO_NEW_PRIVS, 1).
int cshim_set_no_new_privs(void);
/// Terminals (terminal.c): ioctl(2) and sendmsg(2)'s control messages do not import.
/// A new pty in the devpts at /dev/pts (the container's own): returns the master and stores the
/// slave in *slave, both close-on-exec; -1 with errno.
int cshim_pty_open(int *slave);
/// setsid(), the slave as controlling terminal (TIOCSCTTY), and as fds 0, 1 and 2.
int cshim_take_terminal(int slave);
/// TIOCGWINSZ of `from` to TIOCSWINSZ of `to`.
int cshim_copy_window_size(int from, int to);
/// TIOCGWINSZ of `fd` into *rows and *columns (`contain attach` sends them to the supervisor).
int cshim_window_size(int fd, unsigned short *rows, unsigned short *columns);
/// TIOCSWINSZ of `fd` (a container's pty master) to rows x columns.
int cshim_set_window_size(int fd, unsigned short rows, unsigned short columns);
/// One datagram on `sock` with `fd` passed along (SCM_RIGHTS), or none when fd < 0.
long cshim_send_with_fd(int sock, const void *buffer, unsigned long length, int fd);
/// One datagram; *fd gets a passed descriptor (close-on-exec) or -1. MSG_PEEK|MSG_TRUNC in
/// `flags` as recv(2) takes them.
long cshim_receive_with_fd(int sock, void *buffer, unsigned long length, int flags, int *fd);

/// seccomp(SECCOMP_SET_MODE_FILTER, 0, {count, instructions}): a program libseccomp compiled.
int cshim_seccomp_set_filter(const void *instructions, unsigned int count);
/// close_range(first, ~0U, CLOSE_RANGE_CLOEXEC): nothing but 0..first-1 survives the exec.
int cshim_cloexec_from(int first);
/// posix_spawn of path in a new session (setsid), stdin and stdout /dev/null, stderr_fd as its
/// stderr, no other descriptor, default signal dispositions: the detached supervisor.
/// Returns its pid, or -1 with errno.
pid_t cshim_spawn_session(const char *path, char *const *argv, char *const *envp, int stderr_fd);

/// How the exec helper's constructor fared joining the container's namespaces.
struct cshim_exec_join {
    int joined;               /* 1 when every namespace was joined */
    int error;                /* errno of the failure */
    char namespace_name[16];  /* which one failed */
};
struct cshim_exec_join cshim_exec_join_result(void);

/// A sealed (no write, no resize) in-memory copy of this executable, close-on-exec: the exec
/// helper runs from it, so the host's binary is never a process image inside a container
/// (CVE-2019-5736). Returns the fd, or -1 with errno.
int cshim_sealed_self_copy(void);
/// This executable as the exec helper and --init run it, never writable from a container: a
/// read-only bind mount of it attached nowhere (open_tree + mount_setattr, an O_PATH fd, no
/// copy), or where the kernel has no such mounts, cshim_sealed_self_copy. Returns the fd
/// (close-on-exec), or -1 with errno.
int cshim_sealed_self(void);

/// The process's argc and argv, captured by an ELF constructor before Swift's main.
int cshim_argc(void);
char **cshim_argv(void);

/// AT_EMPTY_PATH, likewise.
#define CSHIM_AT_EMPTY_PATH 0x1000
/// O_PATH, which the system headers show only with _GNU_SOURCE.
#define CSHIM_O_PATH 010000000
/// openat2(root_fd, path, flags | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS).
int cshim_open_in_root(int root_fd, const char *path, int flags);

/// The codes of signalfd_siginfo.ssi_code that the parent needs to tell apart.
enum { CSHIM_SI_KERNEL = 0x80, CSHIM_SI_USER = 0 };

#endif
