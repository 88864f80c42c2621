import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// The parts of /proc and /sys a container must not read or change: masked (reads give
/// nothing) and read-only, docker's lists. Applied by the init after /proc and /sys are
/// mounted, while it still has CAP_SYS_ADMIN; without it (and with seccomp refusing mount) the
/// command cannot undo them.
public enum MaskedPaths {
    public static let dockerMasked = [
        "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ]
    public static let dockerReadOnly = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

    /// A file: /dev/null bound over it. A directory: an empty read-only tmpfs. Missing: nothing
    /// to hide (this kernel has none).
    static func mask(_ path: String) throws {
        if mount("/dev/null", path, nil, UInt(MS_BIND), nil) == 0 { return }
        switch errno {
        case ENOENT: return
        case ENOTDIR:
            try sys("mount tmpfs (masked path)", path: path) { mount("tmpfs", path, "tmpfs", UInt(MS_RDONLY), "size=0,mode=0555") }
        default:
            throw SystemError.last("mount /dev/null (masked path)", path: path)
        }
    }

    /// Bound onto itself, then remounted read-only (a bind mount ignores MS_RDONLY at first).
    static func makeReadOnly(_ path: String) throws {
        if mount(path, path, nil, UInt(MS_BIND | MS_REC), nil) != 0 {
            if errno == ENOENT { return }
            throw SystemError.last("mount bind (read-only path)", path: path)
        }
        let flags = UInt(MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
        try sys("remount read-only", path: path) { mount(nil, path, nil, flags, nil) }
    }

    static func apply(masked: [String], readOnly: [String]) throws {
        for path in masked { try mask(path) }
        for path in readOnly { try makeReadOnly(path) }
    }
}
