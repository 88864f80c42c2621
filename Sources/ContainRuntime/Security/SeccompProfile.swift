import CLibseccomp
#if canImport(Glibc)
import Glibc
#endif

/// contain's default seccomp filter: docker's default profile (moby's profiles/seccomp v0.2.3,
/// `default_linux.go`), written out here as data in docker's own format and resolved by the
/// same rules as a profile file (DockerSeccompProfile.resolve).
///
/// What it means for a container:
/// - an allow-list: any syscall not named fails with `EPERM`;
/// - no new namespaces: `unshare`, `setns` and `clone3` are refused, `clone` only without a
///   `CLONE_NEW*` flag (`clone3` answers `ENOSYS`, so libc falls back to `clone`);
/// - no mounts (`mount`, `umount2`, `pivot_root`, the new mount API), no keyrings, no `bpf`,
///   `perf_event_open`, `userfaultfd`, `io_uring_*`, modules, `kexec_*`, `reboot`, `swapon`,
///   setting the clock, `open_by_handle_at`, `syslog`, `acct`, `quotactl`, `iopl`/`ioperm`,
///   and `personality` only with the values libc and `setarch` use;
/// - `socket` for every address family but `AF_ALG` (38) and `AF_VSOCK` (40);
/// - each capability added to the container allows what docker ties to it: `CAP_SYS_ADMIN`
///   the mount and namespace calls and any `clone`, `CAP_SYS_BOOT` `reboot`, `CAP_SYS_MODULE`
///   the module calls, `CAP_SYS_TIME` setting the clock, `CAP_SYS_PTRACE` `kcmp` and
///   `pidfd_getfd`, `CAP_DAC_READ_SEARCH` `open_by_handle_at`, `CAP_BPF`, `CAP_PERFMON`, ...
///
/// As in docker, `adjtimex` and `clock_adjtime` are allowed (reading the clock's state; the
/// kernel wants CAP_SYS_TIME to change it), and so are `name_to_handle_at` (a handle is useless
/// without `open_by_handle_at`), and `ptrace` (from kernel 4.8 on, a tracer can no longer use
/// it to get past the filter).
public enum SeccompProfile {
    public typealias Seccomp = ContainerConfig.Linux.Seccomp

    /// The default filter for a container whose bounding set is `capabilities`
    /// (`CAP_SYS_ADMIN`, ...), for this machine's architecture and kernel.
    public static func dockerDefault(capabilities: Set<String>) -> Seccomp {
        docker.resolve(capabilities: capabilities)
    }

    /// Every syscall name docker's default profile uses, on any architecture. A profile file may
    /// name these even where this libseccomp does not know them (docker's behaviour).
    public static let dockerNames: Set<String> = Set(docker.syscalls.flatMap(\.names))

    typealias Rule = DockerSeccompProfile.Rule
    typealias Condition = DockerSeccompProfile.Condition

    static func allow(_ names: [String], args: [Seccomp.Arg] = [], includes: Condition = .init(),
                      excludes: Condition = .init()) -> Rule {
        Rule(names, "SCMP_ACT_ALLOW", args: args, includes: includes, excludes: excludes)
    }

    static func onlyWith(_ capability: String) -> Condition { Condition(caps: [capability]) }

    /// The namespace flags `clone` may not carry without CAP_SYS_ADMIN.
    static let newNamespaceFlags = UInt64(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID
                                          | CLONE_NEWNET | CLONE_NEWCGROUP)
    static let afALG = UInt64(AF_ALG), afVSOCK = UInt64(AF_VSOCK)

    /// docker's default profile, in docker's format.
    public static let docker = DockerSeccompProfile(
        defaultAction: "SCMP_ACT_ERRNO",
        defaultErrnoRet: UInt32(EPERM),
        archMap: [
            .init("SCMP_ARCH_X86_64", ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
            .init("SCMP_ARCH_AARCH64", ["SCMP_ARCH_ARM"]),
            .init("SCMP_ARCH_MIPS64", ["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"]),
            .init("SCMP_ARCH_MIPS64N32", ["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"]),
            .init("SCMP_ARCH_MIPSEL64", ["SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"]),
            .init("SCMP_ARCH_MIPSEL64N32", ["SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"]),
            .init("SCMP_ARCH_S390X", ["SCMP_ARCH_S390"]),
            .init("SCMP_ARCH_RISCV64"),
            .init("SCMP_ARCH_LOONGARCH64"),
        ],
        syscalls: [
            // Ordinary work. Some are newer than the libseccomp contain is built with (2.5.4 in
            // Debian 12 lacks mseal, uretprobe, listmount, statmount, *xattrat): the filter leaves
            // those out, and they fail with EPERM until libseccomp knows them.
            allow(ordinary),
            allow(["process_vm_readv", "process_vm_writev", "ptrace"],
                  includes: .init(minKernel: .init(4, 8))),
            // socket(2) for every address family but AF_ALG and AF_VSOCK (on 32-bit x86 the
            // socketcall(2) path stays open, as in docker).
            allow(["socket"], args: [.init(index: 0, value: afALG, op: "SCMP_CMP_LT")]),
            allow(["socket"], args: [.init(index: 0, value: afALG + 1, op: "SCMP_CMP_EQ")]),
            allow(["socket"], args: [.init(index: 0, value: afVSOCK, op: "SCMP_CMP_GT")]),
            // PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and 0xffffffff (a query).
            allow(["personality"], args: [.init(index: 0, value: 0x0, op: "SCMP_CMP_EQ")]),
            allow(["personality"], args: [.init(index: 0, value: 0x0008, op: "SCMP_CMP_EQ")]),
            allow(["personality"], args: [.init(index: 0, value: 0x20000, op: "SCMP_CMP_EQ")]),
            allow(["personality"], args: [.init(index: 0, value: 0x20008, op: "SCMP_CMP_EQ")]),
            allow(["personality"], args: [.init(index: 0, value: 0xffff_ffff, op: "SCMP_CMP_EQ")]),
            // Architecture-specific ones (docker's names for the architectures).
            allow(["sync_file_range2", "swapcontext"], includes: .init(arches: ["ppc64le"])),
            allow(["arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"],
                  includes: .init(arches: ["arm", "arm64"])),
            allow(["arch_prctl"], includes: .init(arches: ["amd64", "x32"])),
            allow(["modify_ldt"], includes: .init(arches: ["amd64", "x32", "x86"])),
            allow(["s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"],
                  includes: .init(arches: ["s390", "s390x"])),
            allow(["riscv_flush_icache"], includes: .init(arches: ["riscv64"])),
            // What an added capability allows.
            allow(["open_by_handle_at"], includes: onlyWith("CAP_DAC_READ_SEARCH")),
            allow(["bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie",
                   "lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr", "mount", "mount_setattr", "move_mount",
                   "open_tree", "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns",
                   "syslog", "umount", "umount2", "unshare"],
                  includes: onlyWith("CAP_SYS_ADMIN")),
            allow(["clone"], args: [.init(index: 0, value: newNamespaceFlags, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ")],
                  excludes: .init(caps: ["CAP_SYS_ADMIN"], arches: ["s390", "s390x"])),
            // s390 passes clone's flags second.
            allow(["clone"], args: [.init(index: 1, value: newNamespaceFlags, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ")],
                  includes: .init(arches: ["s390", "s390x"]), excludes: onlyWith("CAP_SYS_ADMIN")),
            // clone3's flags are in memory, out of the filter's reach: ENOSYS makes libc use clone.
            Rule(["clone3"], "SCMP_ACT_ERRNO", errnoRet: UInt32(ENOSYS), excludes: onlyWith("CAP_SYS_ADMIN")),
            allow(["reboot"], includes: onlyWith("CAP_SYS_BOOT")),
            allow(["chroot"], includes: onlyWith("CAP_SYS_CHROOT")),
            allow(["delete_module", "init_module", "finit_module"], includes: onlyWith("CAP_SYS_MODULE")),
            allow(["acct"], includes: onlyWith("CAP_SYS_PACCT")),
            allow(["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"],
                  includes: onlyWith("CAP_SYS_PTRACE")),
            allow(["iopl", "ioperm"], includes: onlyWith("CAP_SYS_RAWIO")),
            allow(["settimeofday", "stime", "clock_settime", "clock_settime64"], includes: onlyWith("CAP_SYS_TIME")),
            allow(["vhangup"], includes: onlyWith("CAP_SYS_TTY_CONFIG")),
            allow(["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"], includes: onlyWith("CAP_SYS_NICE")),
            allow(["syslog"], includes: onlyWith("CAP_SYSLOG")),
            allow(["bpf"], includes: onlyWith("CAP_BPF")),
            allow(["perf_event_open"], includes: onlyWith("CAP_PERFMON")),
        ])

    /// Allowed for every container.
    static let ordinary = [
        "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget", "capset",
        "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres",
        "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64",
        "close", "close_range", "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create",
        "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
        "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat",
        "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat",
        "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr",
        "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs",
        "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait",
        "futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid",
        "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer",
        "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
        "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid",
        "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32",
        "getxattr", "getxattrat", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
        "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
        "ioprio_get", "ioprio_set", "io_setup", "io_submit", "ipc", "kill", "landlock_add_rule",
        "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat",
        "listen", "listmount", "listxattr", "listxattrat", "llistxattr", "_llseek", "lremovexattr", "lseek",
        "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier", "memfd_create",
        "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap",
        "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
        "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "mseal",
        "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap", "name_to_handle_at",
        "nanosleep", "newfstatat", "_newselect", "open", "openat", "openat2", "pause", "pidfd_open",
        "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll",
        "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
        "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat",
        "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr",
        "removexattrat", "rename", "renameat", "renameat2", "restart_syscall", "riscv_hwprobe", "rmdir", "rseq",
        "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
        "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
        "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
        "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr",
        "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop",
        "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto",
        "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32",
        "setitimer", "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
        "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid", "setsockopt",
        "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "setxattrat", "shmat", "shmctl",
        "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn",
        "socketcall", "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statmount", "statx",
        "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time",
        "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
        "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
        "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname",
        "unlink", "unlinkat", "uretprobe", "utime", "utimensat", "utimensat_time64", "utimes", "vfork",
        "vmsplice", "wait4", "waitid", "waitpid", "write", "writev",
    ]
}
