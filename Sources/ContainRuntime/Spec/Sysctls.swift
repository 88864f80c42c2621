/// `--sysctl KEY=VALUE`: only the kernel parameters that belong to one of the container's own
/// namespaces, so setting them cannot change the host (docker's list):
///
/// | namespace | parameters |
/// |---|---|
/// | network | `net.*` (not with `--net host`) |
/// | ipc | `kernel.msgmax`, `kernel.msgmnb`, `kernel.msgmni`, `kernel.sem`, `kernel.shmall`, `kernel.shmmax`, `kernel.shmmni`, `kernel.shm_rmid_forced`, `fs.mqueue.*` (not with `--ipc host`) |
/// | uts | `kernel.domainname` (not with `--uts host`; the hostname is `--hostname`) |
///
/// A container with a network namespace of its own also gets docker's two defaults, unless it
/// sets them itself: `net.ipv4.ip_unprivileged_port_start=0` (any user may bind port 80) and
/// `net.ipv4.ping_group_range=0 2147483647` (any group may ping without a raw socket).
public enum Sysctls {
    static let ipcKeys: Set<String> = [
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
        "kernel.shmmni", "kernel.shm_rmid_forced",
    ]

    public static let networkDefaults: [String: String] = [
        "net.ipv4.ip_unprivileged_port_start": "0",
        "net.ipv4.ping_group_range": "0 2147483647",
    ]

    /// Parses and checks `--sysctl` entries against the container's namespaces.
    public static func parse(_ entries: [String], ownNetwork: Bool,
                             hostNamespaces: Set<ContainerConfig.Linux.NamespaceType>) throws(SpecError) -> [String: String] {
        var result: [String: String] = [:]
        for entry in entries {
            guard let eq = entry.firstIndex(of: "="), eq != entry.startIndex else {
                throw SpecError("invalid --sysctl `\(entry)`: expected KEY=VALUE, e.g. net.ipv4.ip_forward=1")
            }
            let key = String(entry[..<eq]), value = String(entry[entry.index(after: eq)...])
            guard key.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_")
                                        || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") || ($0 >= 0x41 && $0 <= 0x5a) }),
                  !key.contains(".."), !key.hasPrefix("."), !key.hasSuffix(".") else {
                throw SpecError("invalid --sysctl `\(entry)`: `\(key)` is not a kernel parameter name")
            }
            let namespace: ContainerConfig.Linux.NamespaceType
            if key.hasPrefix("net.") {
                namespace = .network
                guard ownNetwork else {
                    throw SpecError("--sysctl \(key): the container shares another network namespace (--net host or container:NAME), so it would change that one")
                }
            } else if ipcKeys.contains(key) || key.hasPrefix("fs.mqueue.") {
                namespace = .ipc
            } else if key == "kernel.domainname" {
                namespace = .uts
            } else if key == "kernel.hostname" {
                throw SpecError("--sysctl kernel.hostname: use --hostname")
            } else {
                throw SpecError("--sysctl \(key): not a namespaced kernel parameter, so setting it would change the host (allowed: net.*, kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, kernel.domainname)")
            }
            if namespace != .network && hostNamespaces.contains(namespace) {
                throw SpecError("--sysctl \(key): the container shares the host's \(namespace.rawValue) namespace (--\(namespace.rawValue) host), so it would change the host")
            }
            result[key] = value
        }
        return result
    }

    /// `net.ipv4.ip_forward` → `/proc/sys/net/ipv4/ip_forward`.
    public static func path(of key: String) -> String {
        "/proc/sys/" + key.split(separator: ".").joined(separator: "/")
    }
}
