import CContainShim
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// The one ordered step between a set-up container and its command, shared by the init and by
/// exec's helper, so there is no second path to forget (youki's and runc's order):
///
/// | # | step | why here |
/// |---|---|---|
/// | 1 | every descriptor from 3 up close-on-exec | the command starts with 0, 1 and 2 only |
/// | 2 | bounding set limited; rlimits | needs CAP_SETPCAP (and CAP_SYS_RESOURCE to raise a hard limit), which only root still has |
/// | 3 | seccomp, when no_new_privs is not asked | loading a filter without no_new_privs needs CAP_SYS_ADMIN, still held here |
/// | 4 | oom_score_adj, then user and groups (exactly the identity's: none of the host's), then the umask | lowering the score needs CAP_SYS_RESOURCE; setuid away from 0 clears the permitted and effective sets |
/// | 5 | effective, permitted, inheritable, ambient | a non-root user gets none (docker's rule) |
/// | 6 | no_new_privs, when asked | |
/// | 7 | seccomp, when no_new_privs is asked | last: nothing after it needs a forbidden call |
///
/// Masked and read-only paths are mount work and happen earlier, in the init's setup.
public enum Hardening {
    static func finalize(process: ContainerConfig.Process, identity: UserIdentity, seccomp: SeccompProgram?) throws {
        try sys("close_range", path: "3..") { cshim_cloexec_from(3) }
        if let caps = process.capabilities { try Capabilities.limitBoundingSet(to: caps.bounding) }
        // Resource limits while a hard limit may still be raised (CAP_SYS_RESOURCE is still effective).
        try Ulimits.apply(process.rlimits)
        if let seccomp, !process.noNewPrivileges { try seccomp.load() }
        if let adjustment = process.oomScoreAdj {
            try Files.write("/proc/self/oom_score_adj", "\(adjustment)")
        }
        try switchUser(identity)
        umask(mode_t(process.user.umask ?? 0o022))
        if var caps = process.capabilities {
            if getuid() != 0 {
                // docker: a user other than root has the bounding set, and nothing effective.
                caps.effective = []; caps.permitted = []; caps.inheritable = []; caps.ambient = []
            }
            try Capabilities.apply(caps)
        }
        if process.noNewPrivileges { try sys("prctl PR_SET_NO_NEW_PRIVS") { cshim_set_no_new_privs() } }
        if let seccomp, process.noNewPrivileges { try seccomp.load() }
    }

    /// Groups first, while setgroups is still allowed; then gid, then uid.
    static func switchUser(_ identity: UserIdentity) throws {
        try sys("setgroups") { identity.groups.withUnsafeBufferPointer { setgroups($0.count, $0.baseAddress) } }
        try sys("setgid", path: String(identity.gid)) { setgid(identity.gid) }
        try sys("setuid", path: String(identity.uid)) { setuid(identity.uid) }
    }
}
