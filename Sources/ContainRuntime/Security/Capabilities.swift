import CContainShim
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// Linux capabilities by name (`CAP_SYS_ADMIN`, as OCI spells them), docker's default set, and
/// `--cap-add` / `--cap-drop` as docker reads them.
public enum Capabilities {
    /// Every capability the kernel headers of 6.x know, in bit order.
    public static let all: [String] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
        "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]

    /// What docker gives a container unless asked otherwise (moby's defaultCapabilities).
    public static let dockerDefault: [String] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ]

    /// `sys_admin`, `SYS_ADMIN` or `CAP_SYS_ADMIN` → `CAP_SYS_ADMIN`; nil when unknown.
    public static func canonical(_ name: String) -> String? {
        let upper = String(name.uppercased())
        let full = upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
        return all.contains(full) ? full : nil
    }

    /// docker's rule: start from the default set, add `--cap-add`, remove `--cap-drop`; `ALL`
    /// in either means every capability (drop ALL then add X gives just X). Order as in `all`.
    public static func resolve(add: [String], drop: [String]) throws(SpecError) -> [String] {
        func names(_ list: [String], flag: String) throws(SpecError) -> (all: Bool, names: Set<String>) {
            var set = Set<String>(), everything = false
            for item in list {
                if item.uppercased() == "ALL" { everything = true; continue }
                guard let name = canonical(item) else {
                    throw SpecError("invalid \(flag) `\(item)`: no such capability (e.g. NET_ADMIN, SYS_PTRACE, ALL)")
                }
                set.insert(name)
            }
            return (everything, set)
        }
        let added = try names(add, flag: "--cap-add"), dropped = try names(drop, flag: "--cap-drop")
        var result = dropped.all ? Set<String>() : Set(dockerDefault).subtracting(dropped.names)
        result.formUnion(added.all ? Set(hostBounding) : added.names)
        if added.all { result.subtract(dropped.names) }
        return all.filter(result.contains)
    }

    /// The capabilities this process may still hold (CapBnd of /proc/self/status): what
    /// `--privileged` and `--cap-add ALL` mean on a host whose own bounding set is smaller.
    public static var hostBounding: [String] {
        guard let status = try? Files.read("/proc/self/status"), let mask = ProcessIdentity.mask("CapBnd", status: status) else {
            return all
        }
        return all.enumerated().filter { mask & (1 << UInt64($0.offset)) != 0 }.map(\.element)
    }

    /// The bit mask of `names` (unknown names ignored: the configuration is validated earlier).
    public static func mask(_ names: [String]) -> UInt64 {
        names.reduce(0) { mask, name in
            guard let bit = all.firstIndex(of: name) else { return mask }
            return mask | (1 << UInt64(bit))
        }
    }

    /// The highest capability this kernel knows (/proc/sys/kernel/cap_last_cap, read only).
    static var lastCapability: Int {
        (try? Files.read("/proc/sys/kernel/cap_last_cap")).flatMap { Int($0.split(separator: "\n").first ?? "") } ?? all.count - 1
    }

    /// Drops from the bounding set every capability not in `bounding` (needs CAP_SETPCAP, which
    /// the init still has): nothing the process or its children exec can ever regain them.
    static func limitBoundingSet(to bounding: [String]) throws {
        let keep = mask(bounding)
        for bit in 0...lastCapability where keep & (1 << UInt64(bit)) == 0 {
            try sys("prctl PR_CAPBSET_DROP", path: bit < all.count ? all[bit] : String(bit)) { cshim_capbset_drop(Int32(bit)) }
        }
    }

    /// Sets the effective, permitted and inheritable sets, and empties the ambient set (or
    /// raises the ones asked for, which must be permitted and inheritable).
    static func apply(_ caps: ContainerConfig.Process.Capabilities) throws {
        try sys("capset") { cshim_capset(mask(caps.effective), mask(caps.permitted), mask(caps.inheritable)) }
        try sys("prctl PR_CAP_AMBIENT_CLEAR_ALL") { cshim_cap_ambient_clear() }
        for name in caps.ambient {
            guard let bit = all.firstIndex(of: name) else { continue }
            try sys("prctl PR_CAP_AMBIENT_RAISE", path: name) { cshim_cap_ambient_raise(Int32(bit)) }
        }
    }
}
