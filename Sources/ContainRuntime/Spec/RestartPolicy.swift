/// `--restart no|always|unless-stopped|on-failure[:N]`, docker's policies, carried out by a
/// detached container's supervisor: when the container ends it is started again in place (same
/// id, name, record, copy-on-write layer and log) unless the policy says otherwise.
///
/// | policy | restarts when the container ends |
/// |---|---|
/// | `no` | never |
/// | `on-failure[:N]` | with a non-zero status, at most N times (no N: no limit) |
/// | `always`, `unless-stopped` | always |
///
/// None restarts a container that `contain stop`, `kill` or `rm -f` ended (docker's "manually
/// stopped"); `always` and `unless-stopped` differ in docker only when its daemon restarts,
/// which contain has no equivalent of. Between starts the supervisor waits docker's backoff:
/// 100 ms, doubled each time up to a minute, back to 100 ms after a run of 10 s or more.
public enum RestartPolicy: Equatable, Sendable, CustomStringConvertible {
    case no
    case always
    case unlessStopped
    case onFailure(maximum: Int?)

    public init(parsing text: String) throws(SpecError) {
        switch text {
        case "no", "": self = .no
        case "always": self = .always
        case "unless-stopped": self = .unlessStopped
        case "on-failure": self = .onFailure(maximum: nil)
        default:
            if text.hasPrefix("on-failure:"), let n = Int(text.dropFirst("on-failure:".count)), n >= 0 {
                self = .onFailure(maximum: n == 0 ? nil : n)
            } else {
                throw SpecError("invalid --restart `\(text)`: expected no, always, unless-stopped or on-failure[:N]")
            }
        }
    }

    public var description: String {
        switch self {
        case .no: return "no"
        case .always: return "always"
        case .unlessStopped: return "unless-stopped"
        case .onFailure(let maximum): return "on-failure" + (maximum.map { ":\($0)" } ?? "")
        }
    }

    /// Whether a container that ended with `exitCode`, after `restarts` restarts so far, starts
    /// again; never when it was stopped by hand.
    public func restarts(exitCode: Int32, restartsSoFar restarts: Int, stoppedByUser: Bool) -> Bool {
        guard !stoppedByUser else { return false }
        switch self {
        case .no: return false
        case .always, .unlessStopped: return true
        case .onFailure(let maximum): return exitCode != 0 && (maximum.map { restarts < $0 } ?? true)
        }
    }

    /// docker's backoff before restart number `restarts + 1`, in milliseconds; `ranFor` is how
    /// long the run that just ended lasted.
    public static func delayMilliseconds(previous: Int?, ranForSeconds ranFor: Int) -> Int {
        guard let previous, ranFor < 10 else { return 100 }
        return min(previous * 2, 60_000)
    }
}
