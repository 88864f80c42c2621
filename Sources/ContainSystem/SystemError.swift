#if canImport(Glibc)
import Glibc
#endif

/// A failed kernel call: what was attempted, on what, and the errno it returned.
/// Prints as crun does: ``open `/sys/fs/cgroup/x`: No such file or directory``.
public struct SystemError: Error, Equatable, CustomStringConvertible, Sendable {
    public let operation: String
    public let path: String?
    public let errno: Int32

    public init(_ operation: String, path: String? = nil, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    /// Captures the calling thread's current errno.
    public static func last(_ operation: String, path: String? = nil) -> SystemError {
        SystemError(operation, path: path, errno: Glibc.errno)
    }

    public var description: String {
        let reason = String(cString: strerror(errno))
        if let path { return "\(operation) `\(path)`: \(reason)" }
        return "\(operation): \(reason)"
    }
}

/// Runs a call returning -1 on failure, retrying on EINTR, and throws a SystemError otherwise.
@discardableResult
public func sys<T: BinaryInteger>(_ operation: String, path: String? = nil, _ call: () -> T) throws -> T {
    while true {
        let result = call()
        if result != -1 { return result }
        if Glibc.errno == EINTR { continue }
        throw SystemError.last(operation, path: path)
    }
}
