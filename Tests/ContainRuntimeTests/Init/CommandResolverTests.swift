import Glibc
import Testing
@testable import ContainRuntime

@Suite struct CommandResolverTests {
    /// A fake filesystem: path → errno that execve would give (0 = runnable).
    func resolve(_ command: String, path: String? = nil, files: [String: Int32]) -> CommandResolver.Resolution {
        CommandResolver.resolve(command, environment: path.map { ["PATH=\($0)"] } ?? []) { files[$0] ?? ENOENT }
    }

    @Test func searchesThePathInOrder() {
        #expect(resolve("sh", files: ["/bin/sh": 0, "/usr/bin/sh": 0]) == .found("/usr/bin/sh"))
        #expect(resolve("sh", path: "/bin:/usr/bin", files: ["/bin/sh": 0, "/usr/bin/sh": 0]) == .found("/bin/sh"))
        #expect(resolve("tool", path: "/opt:", files: ["./tool": 0]) == .found("./tool"))
    }

    @Test func missingIs127AndNotExecutableIs126() {
        #expect(resolve("nosuch", files: [:]) == .notFound)
        #expect(resolve("/bin/nosuch", files: [:]) == .notFound)
        #expect(resolve("/etc/passwd", files: ["/etc/passwd": EACCES]) == .notExecutable("/etc/passwd", errno: EACCES))
        // A denied entry early in PATH loses to a runnable one later, as in a shell.
        #expect(resolve("x", path: "/a:/b", files: ["/a/x": EACCES, "/b/x": 0]) == .found("/b/x"))
        #expect(resolve("x", path: "/a:/b", files: ["/a/x": EACCES]) == .notExecutable("/a/x", errno: EACCES))
        #expect(RunFailure.commandNotFound("x").exitCode == 127)
        #expect(RunFailure.cannotExecute("x", errno: EACCES).exitCode == 126)
        #expect(RunFailure.runtime("x").exitCode == 125)
        #expect(RunFailure.interrupted(signal: SIGINT).exitCode == 130)
    }

    @Test func checksTheRealFilesystem() {
        #expect(CommandResolver.checkExecutable("/bin/sh") == 0)
        #expect(CommandResolver.checkExecutable("/etc/passwd") == EACCES)
        #expect(CommandResolver.checkExecutable("/") == EACCES)
        #expect(CommandResolver.checkExecutable("/no/such/file") == ENOENT)
    }
}
