import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// A detached or created container's output (its record's `output`: stdout and stderr).
public enum ContainerLogs {
    /// Copies the output to `fd`; with `follow`, keeps copying until the container has ended.
    public static func copy(_ view: ContainerView, follow: Bool, to out: Int32 = 1) throws {
        let fd = open(view.outputFile, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw RunFailure.runtime("container \(view.displayName) has no logs: only detached containers (run -d, create) keep their output")
        }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                _ = buffer.withUnsafeBytes { write(out, $0.baseAddress, n) }
                continue
            }
            guard follow, ContainerRecord.find(directory: view.directory)?.isAlive == true else {
                // One last read: output written just before the end.
                let rest = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if rest > 0 { _ = buffer.withUnsafeBytes { write(out, $0.baseAddress, rest) } }
                return
            }
            usleep(50_000)
        }
    }
}
