/*
 * payload: the integration tests' helper, compiled statically into the test rootfs as
 * /usr/bin/payload (Scripts/build-rootfs.sh with CONTAIN_TEST_PAYLOAD=1).
 *
 * busybox cannot make a process die of its own fault: signals that a shell sends to itself as
 * PID 1 are dropped by the kernel, and no applet segfaults or allocates on demand. These can.
 *
 *   payload segv              dereference NULL: killed by SIGSEGV (exit 139 through contain)
 *   payload alloc MIB         allocate and touch MIB mebibytes, then print "allocated MIB"
 *   payload spin SECONDS      burn CPU for SECONDS of wall time, print the CPU seconds used
 *   payload fork N            fork N children that sleep; print how many forks succeeded
 *   payload signals           print "ready", then report each caught signal by name until SIGTERM
 *
 * The security probes (SecurityTests): what the process may do, judged from inside. Each probe
 * has NO effect outside the container even where a protection is missing: nothing is written to
 * /proc/sys or a device, no module is loaded, no clock changed, mounts are made on /tmp/probe
 * inside the container's own mount namespace and undone at once.
 *
 *   payload status            the process's Uid, Cap*, NoNewPrivs and Seccomp lines from
 *                             /proc/self/status ("CapEff: 00000000a80425fb"), then "Cwd: DIR"
 *   payload fds               the descriptors open when it started: "fds 0 1 2", then one
 *                             "fd N TARGET" line for each one above 2
 *   payload probe NAME...     one line per probe: "NAME ok" or "NAME errno=EPERM" (the errno's
 *                             symbolic name), possibly followed by details ("bytes=0 fs=other");
 *                             a probe whose preparation failed prints "NAME setup STEP errno=E".
 *                             Probes (see probe() below): mount umount fsopen open_tree
 *                             remount-sys remount-proc-sys kmsg init_module core_pattern
 *                             proc-keys paths keyctl unshare-user unshare-uts clone-user clone-uts
 *                             bpf perf_event_open userfaultfd io_uring_setup raw-socket mkdir tiocsti
 *                             open_by_handle_at:DIR open-r:PATH open-w:PATH
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int segv(void) {
    volatile int *p = NULL;
    *p = 1;
    return 0;
}

static int alloc(long mib) {
    for (long i = 0; i < mib; i++) {
        char *block = malloc(1 << 20);
        if (block == NULL) { perror("malloc"); return 1; }
        memset(block, (int)i + 1, 1 << 20);
    }
    printf("allocated %ld\n", mib);
    return 0;
}

static int spin(double seconds) {
    double end = now() + seconds;
    volatile unsigned long n = 0;
    while (now() < end) n++;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("cpu %.2f\n", (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6);
    return 0;
}

static int forks(int n) {
    pid_t *children = calloc((size_t)n, sizeof *children);
    int ok = 0;
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) { pause(); _exit(0); }
        if (pid < 0) break;
        children[ok++] = pid;
    }
    printf("forked %d\n", ok);
    for (int i = 0; i < ok; i++) kill(children[i], SIGKILL);
    for (int i = 0; i < ok; i++) waitpid(children[i], NULL, 0);
    return 0;
}

static volatile sig_atomic_t caught;
static void on_signal(int sig) { caught = sig; }

static int signals(void) {
    int list[] = { SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGTERM };
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    // The signals stay blocked except inside sigsuspend: one that arrives while a report is
    // being printed waits for the next sigsuspend instead of being missed by a pause().
    sigset_t blocked, during;
    sigemptyset(&blocked);
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) {
        sigaction(list[i], &sa, NULL);
        sigaddset(&blocked, list[i]);
    }
    sigprocmask(SIG_BLOCK, &blocked, &during);
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        sigsuspend(&during);
        int sig = caught;
        caught = 0;
        if (sig == 0) continue;
        printf("caught %s\n", sigabbrev_np(sig));
        fflush(stdout);
        if (sig == SIGTERM) return 0;
    }
}

// MARK: security probes

#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup 425
#endif
#ifndef SYS_userfaultfd
#define SYS_userfaultfd 323
#endif
#ifndef SYS_keyctl
#define SYS_keyctl 250
#endif
#ifndef SYS_init_module
#define SYS_init_module 175
#endif
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x00000001
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef KEYCTL_GET_KEYRING_ID
#define KEYCTL_GET_KEYRING_ID 0
#endif
#ifndef KEY_SPEC_SESSION_KEYRING
#define KEY_SPEC_SESSION_KEYRING -3
#endif
#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif
#ifndef SYSFS_MAGIC
#define SYSFS_MAGIC 0x62656572
#endif
#ifndef PERF_FLAG_FD_CLOEXEC
#define PERF_FLAG_FD_CLOEXEC (1UL << 3)
#endif

/// The symbolic name of an errno ("EPERM"), or its number when glibc has no name for it.
static const char *errname(int e) {
    static char number[16];
    const char *name = strerrorname_np(e);
    if (name != NULL) return name;
    snprintf(number, sizeof number, "%d", e);
    return number;
}

/// "NAME ok" when rc >= 0, else "NAME errno=E" (errno as the call left it); then `detail`.
static void report(const char *name, long rc, int err, const char *detail) {
    if (rc >= 0) printf("%s ok", name);
    else printf("%s errno=%s", name, errname(err));
    if (detail != NULL && detail[0] != '\0') printf(" %s", detail);
    printf("\n");
}

/// A probe could not be prepared: the result says which step failed, not what was probed.
static void setup_failed(const char *name, const char *step, int err) {
    printf("%s setup %s errno=%s\n", name, step, errname(err));
}

/// Reports a call that returns a descriptor, closing it at once.
static void report_fd(const char *name, long fd, int err) {
    report(name, fd, err, NULL);
    if (fd >= 0) close((int)fd);
}

/// /tmp/probe, the directory the mount probes use (in the container's copy-on-write root).
static int probe_dir(const char *name) {
    if (mkdir("/tmp/probe", 0755) != 0 && errno != EEXIST) { setup_failed(name, "mkdir", errno); return -1; }
    return 0;
}

/// mount(2) of a new tmpfs on /tmp/probe; unmounted at once when it worked.
static void probe_mount(const char *name) {
    if (probe_dir(name) != 0) return;
    int rc = mount("tmpfs", "/tmp/probe", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k");
    int err = errno;
    if (rc == 0) umount2("/tmp/probe", MNT_DETACH);
    report(name, rc, err, NULL);
}

/// umount2 of /tmp/probe, which is no mount point: EPERM without the right, EINVAL with it.
static void probe_umount(const char *name) {
    if (probe_dir(name) != 0) return;
    int rc = umount2("/tmp/probe", 0);
    report(name, rc, errno, NULL);
}

/// The new mount API: a filesystem context for tmpfs, closed at once (nothing is mounted).
static void probe_fsopen(const char *name) {
    long fd = syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
    report_fd(name, fd, errno);
}

/// open_tree(OPEN_TREE_CLONE) of /tmp: a detached copy of that mount, dropped at close.
static void probe_open_tree(const char *name) {
    long fd = syscall(SYS_open_tree, AT_FDCWD, "/tmp", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    report_fd(name, fd, errno);
}

/// A bind remount of `path` read-write: only this mount's flags in the container's own mount
/// namespace change (MS_BIND: never the superblock, which /sys may share with the host). Its
/// other flags are kept, and when it worked it is made read-only again at once. Details: what
/// it was before (was=ro|rw) and, when it worked, that it was writable (now=rw).
static void probe_remount(const char *name, const char *path) {
    struct statvfs before;
    if (statvfs(path, &before) != 0) { setup_failed(name, "statvfs", errno); return; }
    unsigned long keep = before.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_NOATIME | ST_NODIRATIME | ST_RELATIME);
    int rc = mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | keep, NULL);
    int err = errno;
    char detail[64];
    snprintf(detail, sizeof detail, "was=%s", (before.f_flag & ST_RDONLY) ? "ro" : "rw");
    if (rc == 0) {
        struct statvfs after;
        if (statvfs(path, &after) == 0)
            snprintf(detail, sizeof detail, "was=%s now=%s", (before.f_flag & ST_RDONLY) ? "ro" : "rw",
                     (after.f_flag & ST_RDONLY) ? "ro" : "rw");
        if (before.f_flag & ST_RDONLY) mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, NULL);
    }
    report(name, rc, err, detail);
}

/// mknod of the kernel log's node (c 1 11) as /tmp/kmsg, then opens of it, closed at once and
/// never read or written. Three lines: kmsg-mknod, kmsg-open-r (O_RDONLY: also needs
/// CAP_SYSLOG when kernel.dmesg_restrict is 1) and kmsg-open-w (O_WRONLY: refused only by the
/// device rules).
static void probe_kmsg(void) {
    unlink("/tmp/kmsg");
    int rc = mknod("/tmp/kmsg", S_IFCHR | 0600, makedev(1, 11));
    report("kmsg-mknod", rc, errno, NULL);
    int fd = open("/tmp/kmsg", O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    report_fd("kmsg-open-r", fd, errno);
    fd = open("/tmp/kmsg", O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    report_fd("kmsg-open-w", fd, errno);
    unlink("/tmp/kmsg");
}

/// open_by_handle_at of `dir` (a volume) through its own handle, O_RDONLY, closed at once. When
/// name_to_handle_at itself is refused a dummy handle is used (the right to decode a handle is
/// checked before the handle), and the detail says so.
static void probe_open_by_handle(const char *name, const char *dir) {
    struct file_handle *handle = calloc(1, sizeof *handle + MAX_HANDLE_SZ);
    handle->handle_bytes = MAX_HANDLE_SZ;
    int mount_id = 0;
    char detail[64] = "";
    if (name_to_handle_at(AT_FDCWD, dir, handle, &mount_id, 0) != 0) {
        snprintf(detail, sizeof detail, "name_to_handle_at=%s", errname(errno));
        memset(handle, 0, sizeof *handle + MAX_HANDLE_SZ);
        handle->handle_bytes = 8;
        handle->handle_type = 1;
    }
    int mount_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (mount_fd < 0) { setup_failed(name, "open", errno); free(handle); return; }
    int fd = open_by_handle_at(mount_fd, handle, O_RDONLY | O_CLOEXEC);
    report(name, fd, errno, detail);
    if (fd >= 0) close(fd);
    close(mount_fd);
    free(handle);
}

/// init_module of an invalid 16-byte image: EPERM without the right (or from seccomp); with it
/// the kernel rejects the image (ENOEXEC), or has no modules at all (ENOSYS). Nothing loads.
static void probe_init_module(const char *name) {
    static const char image[16];
    long rc = syscall(SYS_init_module, image, sizeof image, "");
    report(name, rc, errno, NULL);
}

/// Opens core_pattern for writing and closes it at once: never written.
static void probe_core_pattern(const char *name) {
    int fd = open("/proc/sys/kernel/core_pattern", O_WRONLY | O_CLOEXEC);
    report_fd(name, fd, errno);
}

/// The filesystem `path` is on: proc, sysfs or other (a mask bound over it).
static const char *fs_kind(const struct statfs *st) {
    if ((unsigned long)st->f_type == PROC_SUPER_MAGIC) return "proc";
    if ((unsigned long)st->f_type == SYSFS_MAGIC) return "sysfs";
    return "other";
}

/// Reads /proc/keys: "proc-keys ok bytes=N fs=proc|other" (masked: nothing to read, and the
/// file is not procfs's).
static void probe_proc_keys(const char *name) {
    int fd = open("/proc/keys", O_RDONLY | O_CLOEXEC);
    if (fd < 0) { report(name, fd, errno, NULL); return; }
    struct statfs st;
    const char *kind = fstatfs(fd, &st) == 0 ? fs_kind(&st) : "unknown";
    char buf[4096];
    long total = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0 && total < (1 << 20)) total += n;
    int err = errno;
    close(fd);
    char detail[64];
    snprintf(detail, sizeof detail, "bytes=%ld fs=%s", total, kind);
    report(name, n < 0 ? -1 : 0, err, detail);
}

/// Docker's masked and read-only paths, looked at without opening them: one line each,
/// "mask:PATH masked|exposed|absent" (exposed: still procfs or sysfs) and
/// "ro:PATH ro|rw|absent".
static void probe_paths(void) {
    static const char *masked[] = {
        "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    };
    static const char *readonly[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" };
    for (size_t i = 0; i < sizeof masked / sizeof masked[0]; i++) {
        struct statfs st;
        if (statfs(masked[i], &st) != 0) {
            if (errno == ENOENT) printf("mask:%s absent\n", masked[i]);
            else printf("mask:%s errno=%s\n", masked[i], errname(errno));
            continue;
        }
        printf("mask:%s %s\n", masked[i], strcmp(fs_kind(&st), "other") == 0 ? "masked" : "exposed");
    }
    for (size_t i = 0; i < sizeof readonly / sizeof readonly[0]; i++) {
        struct statvfs st;
        if (statvfs(readonly[i], &st) != 0) {
            if (errno == ENOENT) printf("ro:%s absent\n", readonly[i]);
            else printf("ro:%s errno=%s\n", readonly[i], errname(errno));
            continue;
        }
        printf("ro:%s %s\n", readonly[i], (st.f_flag & ST_RDONLY) ? "ro" : "rw");
    }
}

/// keyctl(KEYCTL_GET_KEYRING_ID, session keyring, create=0): looks a keyring up, makes none.
static void probe_keyctl(const char *name) {
    long rc = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
    report(name, rc, errno, NULL);
}

/// Waits for a child that reports its errno (0: it worked) as its exit status.
static void report_child(const char *name, pid_t pid, int err) {
    if (pid < 0) { report(name, -1, err, NULL); return; }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 255;
    report(name, code == 0 ? 0 : -1, code, NULL);
}

/// unshare(`flags`) in a forked child that exits at once (unshare-user: CLONE_NEWUSER, which
/// needs no capability but fails in a chroot; unshare-uts: CLONE_NEWUTS, which needs
/// CAP_SYS_ADMIN).
static void probe_unshare(const char *name, int flags) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) _exit(unshare(flags) == 0 ? 0 : errno);
    if (pid < 0) { setup_failed(name, "fork", errno); return; }
    report_child(name, pid, 0);
}

/// clone(`flags`): the child, in its new namespace, exits at once.
static void probe_clone(const char *name, unsigned long flags) {
    fflush(stdout);
    long pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0UL);
    if (pid == 0) syscall(SYS_exit, 0);
    int err = errno;
    if (pid < 0) { report(name, -1, err, NULL); return; }
    report_child(name, (pid_t)pid, 0);
}

/// BPF_PROG_LOAD of an empty socket filter: refused for want of the right (EPERM) or, with it,
/// for being empty (E2BIG/EINVAL). Nothing is loaded.
static void probe_bpf(const char *name) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insn_cnt = 0;
    attr.insns = 0;
    attr.license = (uint64_t)(uintptr_t)"GPL";
    long fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
    report_fd(name, fd, errno);
}

/// A software counter (task clock) on this thread, user space only, disabled; closed at once.
static void probe_perf_event_open(const char *name) {
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.size = sizeof attr;
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
    attr.disabled = 1;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    long fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    report_fd(name, fd, errno);
}

static void probe_userfaultfd(const char *name) {
    long fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    report_fd(name, fd, errno);
}

/// A one-entry ring, never mapped or used; closed at once.
static void probe_io_uring_setup(const char *name) {
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    long fd = syscall(SYS_io_uring_setup, 1, &params);
    report_fd(name, fd, errno);
}

static void probe_raw_socket(const char *name) {
    int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
    report_fd(name, fd, errno);
}

/// TIOCSTI on stdin: pushes one harmless character (a space) into whatever terminal stdin is.
/// Without `-t` stdin is never the caller's terminal (ENOTTY); with `-t` it is the
/// container's own pty.
static void probe_tiocsti(const char *name) {
    char c = ' ';
    int rc = ioctl(0, TIOCSTI, &c);
    report(name, rc, errno, NULL);
}

/// mkdir(2) itself (the raw system call, not mkdirat) of /tmp/probe-mkdir, removed again.
static void probe_mkdir(const char *name) {
    rmdir("/tmp/probe-mkdir");
    long rc = syscall(SYS_mkdir, "/tmp/probe-mkdir", 0700);
    int err = errno;
    if (rc == 0) rmdir("/tmp/probe-mkdir");
    report(name, rc, err, NULL);
}

/// Opens `path` (a device node the test names) read-only or write-only, non-blocking, and
/// closes it at once: nothing is read or written.
static void probe_open(const char *name, const char *path, int mode) {
    int fd = open(path, mode | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    report_fd(name, fd, errno);
}

static int probe(int count, char **names) {
    int unknown = 0;
    for (int i = 0; i < count; i++) {
        const char *name = names[i];
        if (strcmp(name, "mount") == 0) probe_mount(name);
        else if (strcmp(name, "umount") == 0) probe_umount(name);
        else if (strcmp(name, "fsopen") == 0) probe_fsopen(name);
        else if (strcmp(name, "open_tree") == 0) probe_open_tree(name);
        else if (strcmp(name, "remount-sys") == 0) probe_remount(name, "/sys");
        else if (strcmp(name, "remount-proc-sys") == 0) probe_remount(name, "/proc/sys");
        else if (strcmp(name, "kmsg") == 0) probe_kmsg();
        else if (strncmp(name, "open_by_handle_at:", 18) == 0) probe_open_by_handle(name, name + 18);
        else if (strcmp(name, "init_module") == 0) probe_init_module(name);
        else if (strcmp(name, "core_pattern") == 0) probe_core_pattern(name);
        else if (strcmp(name, "proc-keys") == 0) probe_proc_keys(name);
        else if (strcmp(name, "paths") == 0) probe_paths();
        else if (strcmp(name, "keyctl") == 0) probe_keyctl(name);
        else if (strcmp(name, "unshare-user") == 0) probe_unshare(name, CLONE_NEWUSER);
        else if (strcmp(name, "unshare-uts") == 0) probe_unshare(name, CLONE_NEWUTS);
        else if (strcmp(name, "clone-user") == 0) probe_clone(name, CLONE_NEWUSER);
        else if (strcmp(name, "clone-uts") == 0) probe_clone(name, CLONE_NEWUTS);
        else if (strcmp(name, "bpf") == 0) probe_bpf(name);
        else if (strcmp(name, "perf_event_open") == 0) probe_perf_event_open(name);
        else if (strcmp(name, "userfaultfd") == 0) probe_userfaultfd(name);
        else if (strcmp(name, "io_uring_setup") == 0) probe_io_uring_setup(name);
        else if (strcmp(name, "raw-socket") == 0) probe_raw_socket(name);
        else if (strcmp(name, "tiocsti") == 0) probe_tiocsti(name);
        else if (strcmp(name, "mkdir") == 0) probe_mkdir(name);
        else if (strncmp(name, "open-r:", 7) == 0) probe_open(name, name + 7, O_RDONLY);
        else if (strncmp(name, "open-w:", 7) == 0) probe_open(name, name + 7, O_WRONLY);
        else { printf("%s unknown\n", name); unknown = 1; }
        fflush(stdout);
    }
    return unknown ? 2 : 0;
}

/// The capability, no-new-privileges and seccomp lines of /proc/self/status, then the cwd.
static int status(void) {
    static const char *keys[] = { "Uid:", "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:", "NoNewPrivs:", "Seccomp:" };
    FILE *f = fopen("/proc/self/status", "re");
    if (f == NULL) { perror("/proc/self/status"); return 1; }
    char line[512];
    while (fgets(line, sizeof line, f) != NULL) {
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            size_t len = strlen(keys[i]);
            if (strncmp(line, keys[i], len) != 0) continue;
            char *value = line + len;
            value += strspn(value, " \t");
            value[strcspn(value, "\n")] = '\0';
            for (char *c = value; *c; c++) if (*c == '\t') *c = ' ';
            printf("%s %s\n", keys[i], value);
        }
    }
    fclose(f);
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd) != NULL) printf("Cwd: %s\n", cwd);
    else printf("Cwd: errno=%s\n", errname(errno));
    return 0;
}

/// The descriptors open at start (before this function opens /proc/self/fd, which it skips).
static int fds(void) {
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL) { perror("/proc/self/fd"); return 1; }
    int own = dirfd(dir);
    int list[1024];
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && count < 1024) {
        if (entry->d_name[0] == '.') continue;
        int fd = atoi(entry->d_name);
        if (fd != own) list[count++] = fd;
    }
    for (int i = 1; i < count; i++)
        for (int j = i; j > 0 && list[j - 1] > list[j]; j--) { int t = list[j]; list[j] = list[j - 1]; list[j - 1] = t; }
    printf("fds");
    for (int i = 0; i < count; i++) printf(" %d", list[i]);
    printf("\n");
    for (int i = 0; i < count; i++) {
        if (list[i] <= 2) continue;
        char path[64], target[4096];
        snprintf(path, sizeof path, "/proc/self/fd/%d", list[i]);
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n < 0 ? 0 : n] = '\0';
        printf("fd %d %s\n", list[i], target);
    }
    closedir(dir);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "fds") == 0) return fds();
    if (argc >= 2 && strcmp(argv[1], "segv") == 0) return segv();
    if (argc >= 3 && strcmp(argv[1], "alloc") == 0) return alloc(atol(argv[2]));
    if (argc >= 3 && strcmp(argv[1], "spin") == 0) return spin(atof(argv[2]));
    if (argc >= 3 && strcmp(argv[1], "fork") == 0) return forks(atoi(argv[2]));
    if (argc >= 2 && strcmp(argv[1], "signals") == 0) return signals();
    if (argc >= 2 && strcmp(argv[1], "status") == 0) return status();
    if (argc >= 3 && strcmp(argv[1], "probe") == 0) return probe(argc - 2, argv + 2);
    fprintf(stderr, "usage: payload segv | alloc MIB | spin SECONDS | fork N | signals | status | fds | probe NAME...\n");
    return 2;
}
