#if canImport(Glibc)
import Glibc
#endif

/// `[contain] ...` lines on stderr, one write(2) each; silenced by --quiet.
/// Errors are never silenced.
public struct Progress: Sendable {
    public let quiet: Bool
    public init(quiet: Bool) { self.quiet = quiet }

    public func say(_ line: String) {
        if !quiet { Self.emit("[contain] " + line + "\n") }
    }

    /// Something asked for that this host cannot do, run anyway (docker's `WARNING:` lines).
    /// Never silenced.
    public static func warning(_ message: String) {
        emit("[contain] warning: " + message + "\n")
    }

    public static func error(_ message: String) {
        emit("[contain] error: " + message + "\n")
    }

    /// Where progress and errors go: stderr, or for a detached supervisor first the pipe its
    /// `contain run -d` reads and then the container's runtime log.
    nonisolated(unsafe) public static var fd: Int32 = 2

    /// The detached supervisor's container is running: tell `contain run -d` (the marker line
    /// ends its wait) and send everything after that to `log`.
    public static func switchToLog(_ log: String, marker: String) {
        let logFD = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        let kept = transcript
        transcript = nil
        if logFD >= 0, let kept {
            // What was said before the start belongs to the container's log too (`run -d`
            // itself prints only the id, as docker does): written before the marker, so it is
            // there when `run -d` returns.
            var text = kept.joined()
            text.withUTF8 { buffer in _ = write(logFD, buffer.baseAddress, buffer.count) }
        }
        emit(marker + "\n")
        if logFD >= 0 {
            if fd != 2 { close(fd) }
            fd = logFD
        }
    }

    /// The detached supervisor keeps what it says before the start, for its runtime log.
    nonisolated(unsafe) public static var transcript: [String]?

    public static func emit(_ text: String) {
        transcript?.append(text)
        var text = text
        text.withUTF8 { buffer in _ = write(fd, buffer.baseAddress, buffer.count) }
    }
}
