import Testing
@testable import contain

/// The fast `exec` parser must agree with swift-argument-parser on every command line it takes,
/// and leave to it every command line it is not sure of.
@Suite struct ExecOptionsTests {
    static let accepted: [[String]] = [
        ["box", "true"],
        ["box", "--", "sh", "-c", "echo hi"],
        ["-it", "box", "sh"],
        ["-t", "-i", "box", "--", "sh"],
        ["--tty", "--interactive", "box", "sh"],
        ["-e", "A=1", "--env", "B=2", "--env=C=3", "-w", "/tmp", "--workdir=/srv", "-u", "1000:1000", "box", "id"],
        ["--user", "nobody", "--root", "/tmp/x", "box", "--", "ls", "-l"],
        ["--root=/tmp/y", "box", "--", "ls", "--", "-x"],
        ["box", "echo", "two words"],
    ]

    @Test(arguments: accepted)
    func agreesWithArgumentParser(arguments: [String]) throws {
        let fast = try #require(ExecOptions.fast(arguments))
        let slow = try ExecCommand.parse(arguments)
        #expect(fast == slow.options)
    }

    static let declined: [[String]] = [
        ["--help"], ["-h"], ["box"], ["box", "--"], ["--", "box", "true"], ["-e"], ["-e", "-x", "box", "true"],
        ["--bogus", "x", "box", "true"], ["-itx", "box", "sh"], ["-w", "/tmp"],
        // Words of the command that look like options, without `--`: argument-parser refuses them.
        ["box", "ls", "-la"], ["box", "ls", "--", "-x"],
    ]

    @Test(arguments: declined)
    func leavesTheRestToArgumentParser(arguments: [String]) {
        #expect(ExecOptions.fast(arguments) == nil)
    }
}
