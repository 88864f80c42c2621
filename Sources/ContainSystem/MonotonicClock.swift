#if canImport(Glibc)
import Glibc
#endif

/// CLOCK_MONOTONIC, for deadlines and rates: it never jumps with the wall clock.
public enum MonotonicClock {
    public static var seconds: Double {
        let now = timespec.monotonic
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    public static var milliseconds: Int {
        let now = timespec.monotonic
        return now.tv_sec * 1000 + now.tv_nsec / 1_000_000
    }

    public static var microseconds: UInt64 {
        let now = timespec.monotonic
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
    }
}

private extension timespec {
    static var monotonic: timespec {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now
    }
}
