import CContainShim

/// This process's arguments as the kernel passed them, read from the vector glibc handed to the
/// ELF constructors (never from /proc/self/cmdline, which a process inside a container's mount
/// namespace cannot see for itself). Use it instead of CommandLine.arguments.
public enum ProcessArguments {
    public static let all: [String] = {
        guard let argv = cshim_argv() else { return [] }
        return (0..<Int(cshim_argc())).compactMap { argv[$0].map { String(cString: $0) } }
    }()
}
