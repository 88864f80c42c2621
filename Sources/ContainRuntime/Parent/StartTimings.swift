#if canImport(Glibc)
import Glibc
#endif

/// `--timings`: how long each phase of a start took, so a regression can be found, not just
/// seen. Marks are taken with CLOCK_MONOTONIC in the parent; the init's phases are timed as its
/// progress messages arrive (they are sent as each phase begins).
public final class StartTimings {
    /// When `contain` began (main.swift marks it before anything else runs).
    nonisolated(unsafe) public static var processStart: UInt64 = 0

    private var marks: [(String, UInt64)] = []
    public let enabled: Bool

    public init(enabled: Bool) { self.enabled = enabled }

    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Marks the end of the phase called `name` (it began at the previous mark).
    public func mark(_ name: String) {
        if enabled { marks.append((name, Self.now())) }
    }

    /// `parse 0.41ms  cgroup 0.62ms  ...  total 9.80ms`.
    public var summary: String {
        var previous = Self.processStart
        var parts: [String] = []
        for (name, at) in marks {
            parts.append("\(name) \(Self.milliseconds(at - previous))")
            previous = at
        }
        parts.append("total \(Self.milliseconds(previous - Self.processStart))")
        return parts.joined(separator: "  ")
    }

    static func milliseconds(_ ns: UInt64) -> String {
        let hundredths = (ns + 5_000) / 10_000
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)ms"
    }
}
