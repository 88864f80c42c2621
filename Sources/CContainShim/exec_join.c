// contain exec: joining a running container's namespaces, before any Swift code runs.
//
// The helper that `contain exec` starts is this binary (a read-only view of it that no
// container can write, see cshim_sealed_self) with argv[1] == "__contain_exec". Joining the mount and PID
// namespaces needs a single-threaded process, so it happens in an ELF constructor, as runc's
// nsexec does: glibc calls it with argc, argv and envp before main. The result is left in
// cshim_exec_join_status for the Swift side to report over the sync socket.
#define _GNU_SOURCE
#include "contain_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

static struct cshim_exec_join cshim_exec_join_status = {0, 0, ""};

struct cshim_exec_join cshim_exec_join_result(void) { return cshim_exec_join_status; }

static void fail(const char *ns) {
    cshim_exec_join_status.joined = 0;
    cshim_exec_join_status.error = errno;
    snprintf(cshim_exec_join_status.namespace_name, sizeof cshim_exec_join_status.namespace_name, "%s", ns);
}

__attribute__((constructor)) static void cshim_exec_join(int argc, char **argv, char **envp) {
    (void)envp;
    if (argc < 2 || strcmp(argv[1], "__contain_exec") != 0) return;
    // Nothing inside the container may ptrace this process or open its /proc files.
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    const char *pid = getenv("CONTAIN_EXEC_PID");
    if (pid == NULL) { errno = EINVAL; fail("pid"); return; }
    // cgroup v1: into the container's cgroups first (one directory per line), each by writing
    // 0 into its tasks file: a thread moving itself, which the kernel does without the global
    // lock (and RCU grace period) that writing a pid into cgroup.procs takes.
    const char *cgroups = getenv("CONTAIN_EXEC_CGROUPS");
    for (const char *line = cgroups; line != NULL && *line != 0;) {
        const char *end = strchr(line, '\n');
        size_t n = end != NULL ? (size_t)(end - line) : strlen(line);
        char path[4096];
        if (n + sizeof "/tasks" > sizeof path) { errno = ENAMETOOLONG; fail("cgroups"); return; }
        memcpy(path, line, n);
        memcpy(path + n, "/tasks", sizeof "/tasks");
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "0", 1) != 1) {
            int e = errno;
            if (fd >= 0) close(fd);
            errno = e;
            fail("cgroups");
            return;
        }
        close(fd);
        line = end != NULL ? end + 1 : NULL;
    }
    // Open them all first: once in the mount namespace, the host's /proc is out of reach.
    static const char *names[] = {"cgroup", "ipc", "uts", "net", "pid", "mnt"};
    int fds[6];
    for (int i = 0; i < 6; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%s/ns/%s", pid, names[i]);
        fds[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (fds[i] < 0) {
            if (errno == ENOENT && i == 0) continue;  // no cgroup namespaces on this kernel
            fail(names[i]);
            return;
        }
    }
    // The container's root as its PID 1 sees it: after joining the mount namespace the helper
    // changes into it explicitly (as nsenter --root does), because the namespace's own root is
    // the container's only when the runtime itself was not chrooted.
    char root_path[64];
    snprintf(root_path, sizeof root_path, "/proc/%s/root", pid);
    int root_fd = open(root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) { fail("root"); return; }
    for (int i = 0; i < 6; i++) {
        if (fds[i] < 0) continue;
        if (setns(fds[i], 0) != 0) { fail(names[i]); return; }
        close(fds[i]);
    }
    if (fchdir(root_fd) != 0 || chroot(".") != 0 || chdir("/") != 0) { fail("root"); return; }
    close(root_fd);
    cshim_exec_join_status.joined = 1;
}

// The new mount API (Linux 5.12 for mount_setattr), by number: glibc 2.36's <sys/mount.h>
// and <linux/mount.h> do not mix.
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
struct cshim_mount_attr { unsigned long long attr_set, attr_clr, propagation, userns_fd; };
enum { CSHIM_OPEN_TREE_CLONE = 1, CSHIM_MOUNT_ATTR_RDONLY = 0x1, CSHIM_MOUNT_ATTR_NOSUID = 0x2, CSHIM_MOUNT_ATTR_NODEV = 0x4 };

// Moves fd above 3, where cshim_spawn puts the child's sync socket: the child execs
// /proc/self/fd/N after its descriptors are rearranged.
static int above_sync_fd(int fd) {
    if (fd < 0 || fd > 3) return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 4);
    int e = errno;
    close(fd);
    errno = e;
    return moved;
}

int cshim_sealed_self(void) {
    // A bind mount of this executable that is attached nowhere (nothing to unmount, nothing
    // left if this process is killed), made read-only before anything can run from it: a
    // process that reopens the image through /proc/PID/exe for writing gets EROFS. No copy of
    // the binary is made (runc's read-only bind, with a detached mount).
    int view = (int)syscall(SYS_open_tree, AT_FDCWD, "/proc/self/exe", CSHIM_OPEN_TREE_CLONE | O_CLOEXEC);
    if (view >= 0) {
        struct cshim_mount_attr attr = {CSHIM_MOUNT_ATTR_RDONLY | CSHIM_MOUNT_ATTR_NOSUID | CSHIM_MOUNT_ATTR_NODEV, 0, 0, 0};
        if (syscall(SYS_mount_setattr, view, "", AT_EMPTY_PATH, &attr, sizeof attr) == 0) return above_sync_fd(view);
        close(view);
    }
    return above_sync_fd(cshim_sealed_self_copy());
}

int cshim_sealed_self_copy(void) {
    int source = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (source < 0) return -1;
    struct stat st;
    if (fstat(source, &st) != 0) { close(source); return -1; }
    int copy = memfd_create("contain", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (copy < 0) { close(source); return -1; }
    off_t left = st.st_size;
    while (left > 0) {
        ssize_t n = sendfile(copy, source, NULL, (size_t)left);
        if (n <= 0) { int e = errno; close(source); close(copy); errno = n == 0 ? EIO : e; return -1; }
        left -= n;
    }
    close(source);
    if (fchmod(copy, 0555) != 0 ||
        fcntl(copy, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) != 0) {
        int e = errno; close(copy); errno = e; return -1;
    }
    return copy;
}
