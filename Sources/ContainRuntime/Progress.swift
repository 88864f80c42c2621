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

    public static func error(_ message: String) {
        emit("[contain] error: " + message + "\n")
    }

    public static func emit(_ text: String) {
        var text = text
        text.withUTF8 { buffer in _ = write(2, buffer.baseAddress, buffer.count) }
    }
}
