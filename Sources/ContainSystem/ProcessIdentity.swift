#if canImport(Glibc)
import Glibc
#endif

/// A process as the kernel knows it: its pid and its start time (clock ticks since boot, field 22
/// of /proc/PID/stat). A pid alone can be reused by an unrelated process; the pair cannot.
public struct ProcessIdentity: Hashable, Sendable, CustomStringConvertible {
    public let pid: Int32
    public let startTime: UInt64

    public init(pid: Int32, startTime: UInt64) {
        self.pid = pid
        self.startTime = startTime
    }

    /// The identity of `pid` now, or nil when there is no such process.
    public static func of(pid: Int32) -> ProcessIdentity? {
        guard let stat = try? Files.read("/proc/\(pid)/stat"),
              let startTime = parseStartTime(stat: stat) else { return nil }
        return ProcessIdentity(pid: pid, startTime: startTime)
    }

    public static func current() -> ProcessIdentity {
        of(pid: getpid()) ?? ProcessIdentity(pid: getpid(), startTime: 0)
    }

    /// Whether this very process is still alive (not merely its pid). A zombie is dead: it runs
    /// nothing and holds nothing, it only waits for a parent (perhaps itself dead) to reap it.
    /// So is a process with SIGKILL pending: it cannot run again (a container's init killed by
    /// its parent-death signal when its runtime was killed, not yet scheduled to die). One read
    /// of /proc/PID/stat: leases, records and the name server ask this of every container.
    public var isAlive: Bool {
        guard let stat = try? Files.read("/proc/\(pid)/stat") else { return false }
        return Self.isAlive(stat: stat, startTime: startTime)
    }

    /// The same, from the text of /proc/PID/stat: field 22 is `startTime`, field 3 (the state)
    /// is neither Z nor X, and field 31 (the pending signals) has no SIGKILL. A fatal SIGKILL
    /// is added to every thread's own pending set as it is sent (the kernel's complete_signal),
    /// which is what field 31 shows.
    public static func isAlive(stat: String, startTime: UInt64) -> Bool {
        guard let close = stat.utf8.lastIndex(of: UInt8(ascii: ")")) else { return false }
        let rest = stat.utf8[stat.utf8.index(after: close)...].split(separator: UInt8(ascii: " "))
        // rest[0] is field 3.
        guard rest.count > 28, UInt64(String(decoding: rest[19], as: UTF8.self)) == startTime,
              let state = rest[0].first, state != UInt8(ascii: "Z"), state != UInt8(ascii: "X"),
              let pending = UInt64(String(decoding: rest[28], as: UTF8.self)) else { return false }
        return pending & (UInt64(1) << (UInt64(SIGKILL) - 1)) == 0
    }

    /// A hexadecimal mask of /proc/PID/status (`CapBnd:\t000001ffffffffff`), nil when absent.
    public static func mask(_ field: String, status: String) -> UInt64? {
        let key = Array((field + ":").utf8)
        guard let line = status.utf8.split(separator: UInt8(ascii: "\n")).first(where: { $0.starts(with: key) }) else { return nil }
        let value = line.dropFirst(key.count).drop(while: { $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: " ") })
        return UInt64(String(decoding: value, as: UTF8.self), radix: 16)
    }

    /// Field 3 of /proc/PID/stat: Z (zombie) or X (dead).
    public static func isZombie(stat: String) -> Bool {
        guard let close = stat.utf8.lastIndex(of: UInt8(ascii: ")")) else { return false }
        let state = stat.utf8[stat.utf8.index(after: close)...].drop(while: { $0 == UInt8(ascii: " ") }).first
        return state == UInt8(ascii: "Z") || state == UInt8(ascii: "X")
    }

    /// Field 22 of /proc/PID/stat. The command name (field 2) is in parentheses and may itself
    /// contain spaces and parentheses, so counting starts after the last `)`.
    public static func parseStartTime(stat: String) -> UInt64? {
        guard let close = stat.utf8.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let rest = stat.utf8[stat.utf8.index(after: close)...].split(separator: UInt8(ascii: " "))
        // rest[0] is field 3 (state); field 22 is rest[19].
        guard rest.count > 19 else { return nil }
        return UInt64(String(decoding: rest[19], as: UTF8.self))
    }

    public var description: String { "\(pid)@\(startTime)" }
}
