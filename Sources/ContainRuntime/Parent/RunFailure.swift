import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// Why `contain run` ended without the container's own exit status, and the exit code for it:
/// 125 for the runtime's own errors, 126 / 127 when the command cannot run, 128+N on a signal;
/// 1 for a container that does not exist, as docker's commands exit.
public enum RunFailure: Error, CustomStringConvertible {
    case runtime(String)
    /// The name or id given matches no container.
    case noSuchContainer(String)
    /// `--name`: another container's record holds the name (its id).
    case nameInUse(String, owner: String)
    case commandNotFound(String)
    case cannotExecute(String, errno: Int32)
    case interrupted(signal: Int32)

    public static func from(_ error: Error) -> RunFailure {
        if let failure = error as? RunFailure { return failure }
        return .runtime("\(error)")
    }

    public var exitCode: Int32 {
        switch self {
        case .runtime, .nameInUse: return 125
        case .noSuchContainer: return 1
        case .cannotExecute: return 126
        case .commandNotFound: return 127
        case .interrupted(let signal): return 128 + signal
        }
    }

    public var description: String {
        switch self {
        case .runtime(let message): return message
        case .noSuchContainer(let reference): return "no such container: \(reference)"
        case .nameInUse(let name, let owner): return "the name `\(name)` is already in use by container \(owner.prefix(12))"
        case .commandNotFound(let command): return "exec `\(command)`: command not found"
        case .cannotExecute(let command, let errno): return "\(SystemError("exec", path: command, errno: errno))"
        case .interrupted(let signal): return "interrupted by \(Signals.name(signal)) while setting up the container"
        }
    }
}
