#if canImport(Glibc)
import Glibc
#endif

/// How a child ended, decoded from a waitpid(2) status (the W* macros do not import).
public enum WaitStatus: Equatable, Sendable {
    case exited(Int32)
    case signaled(Int32, coreDumped: Bool)

    public init?(raw: Int32) {
        let low = raw & 0x7f
        if low == 0 {
            self = .exited((raw >> 8) & 0xff)
        } else if low != 0x7f {  // 0x7f: stopped, not ended
            self = .signaled(low, coreDumped: raw & 0x80 != 0)
        } else {
            return nil
        }
    }

    /// The shell convention: the exit status, or 128 + N for death by signal N.
    public var shellCode: Int32 {
        switch self {
        case .exited(let code): return code
        case .signaled(let signal, _): return 128 + signal
        }
    }

    /// Waits for `pid` to end, retrying on EINTR.
    public static func wait(for pid: pid_t, options: Int32 = 0) throws -> WaitStatus? {
        var status: Int32 = 0
        let r = try sys("waitpid") { waitpid(pid, &status, options) }
        return r == 0 ? nil : WaitStatus(raw: status)
    }
}
