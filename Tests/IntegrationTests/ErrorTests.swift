import Foundation
import Testing

/// Bad input: one clear line on stderr, exit 125, and nothing left behind.
@Suite(.enabled(if: Harness.enabled)) struct ErrorTests {
    static let cases: [([String], String)] = [
        (["--memory", "12Q"], "[contain] error: invalid --memory `12Q`: expected a positive number with an optional unit (K, M, G, T), e.g. 64M"),
        (["--memory", "-1"], "[contain] error: invalid --memory `-1`: expected a positive number with an optional unit (K, M, G, T), e.g. 64M"),
        (["--memory", "1K"], "[contain] error: invalid --memory `1K`: the minimum is 6M"),
        (["--pids", "0"], "[contain] error: invalid --pids `0`: expected a whole number of processes, at least 1"),
        (["--cpu", "10"], "[contain] error: invalid --cpu `10`: expected a quota in microseconds per 100000 us period, at least 1000"),
        (["--cpus", "1000"], "[contain] error: invalid --cpus `1000`"),
        (["--cpu", "50000", "--cpus", "1"], "[contain] error: --cpu and --cpus set the same limit: give one of them"),
        (["--hostname", "bad host"], "[contain] error: invalid hostname `bad host`: only letters, digits, '-' and '.' are allowed"),
        (["--hostname", String(repeating: "h", count: 65)], "longer than 64 characters"),
        (["--net", "bogus net"], "[contain] error: invalid --net `bogus net`"),
        (["--no-such-flag"], "[contain] error: Unknown option '--no-such-flag'"),
    ]

    @Test(arguments: cases)
    func badFlagsAreOneLineAnd125(options: [String], message: String) throws {
        let box = try Sandbox()
        let r = try box.run(options, ["/bin/true"])
        #expect(r.status == 125, "\(r)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r)")
        #expect(r.stderr.hasPrefix(message) || r.stderr.contains(message), "\(r)")
        box.expectClean()
    }

    @Test func missingRootfs() throws {
        let box = try Sandbox()
        let r = try box.contain(["run", "--root", box.stateRoot, "--rootfs", "/no/such/rootfs", "--", "/bin/true"])
        #expect(r.status == 125)
        #expect(r.stderr == "[contain] error: rootfs `/no/such/rootfs`: No such file or directory\n", "\(r)")
        box.expectClean()
    }

    @Test func rootfsThatIsNotADirectory() throws {
        let box = try Sandbox()
        let r = try box.contain(["run", "--root", box.stateRoot, "--rootfs", Harness.rootfs + "/etc/passwd", "--", "/bin/true"])
        #expect(r.status == 125)
        #expect(r.stderr == "[contain] error: rootfs `\(Harness.rootfs)/etc/passwd`: not a directory, nor a tar archive\n", "\(r)")
    }

    @Test func noCommand() throws {
        let box = try Sandbox()
        let r = try box.contain(["run", "--root", box.stateRoot, "--rootfs", Harness.rootfs])
        #expect(r.status == 125)
        #expect(r.stderr == "[contain] error: no command given: contain run --rootfs DIR -- CMD [ARGS...]\n", "\(r)")
    }

    @Test func notRoot() throws {
        let box = try Sandbox()
        // setpriv drops to nobody; the binary is readable and executable by everyone.
        let r = try runTool("/usr/bin/setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups", Harness.binary,
                                                 "run", "--root", box.stateRoot, "--rootfs", Harness.rootfs, "--", "/bin/true"],
                            output: box.stateRoot + "/setpriv.out")
        #expect(r.status == 125)
        #expect(r.output == "[contain] error: contain needs root privileges\n", "\(r.output)")
    }

    @Test func unavailableControllerIsOneLine() throws {
        // A cgroup parent whose hierarchy cannot be made: a file where a directory should be.
        let box = try Sandbox()
        let blocker = Harness.cgroupRoots[0] + "/" + box.cgroupParent
        try FileManager.default.createDirectory(atPath: blocker, withIntermediateDirectories: true)
        defer { rmdir(blocker + "/x"); rmdir(blocker) }
        // cgroupfs refuses regular files, so take a name that exists as a control file instead.
        let r = try box.contain(["run", "--root", box.stateRoot, "--rootfs", Harness.rootfs,
                                 "--cgroup-parent", box.cgroupParent + "/cgroup.procs", "--", "/bin/true"])
        #expect(r.status == 125, "\(r)")
        #expect(r.stderr.hasPrefix("[contain] error: mkdir `"), "\(r)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r)")
        box.expectClean()
    }

    @Test func versionAndHelp() throws {
        let box = try Sandbox()
        let version = try box.contain(["--version"])
        #expect(version.status == 0 && version.stdout == "0.1.0\n", "\(version)")
        let help = try box.contain(["run", "--help"])
        #expect(help.status == 0 && help.stdout.contains("--rootfs <dir>"), "\(help)")
    }
}
