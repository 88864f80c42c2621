import Foundation
import Testing

/// Environment, volumes, the copy-on-write root, --read-only, -w, -u and --init.
@Suite(.enabled(if: Harness.enabled)) struct ContainerOptionsTests {
    /// Every path under `root` with its type, size, mode and content digest: equal snapshots
    /// mean the tree is byte-for-byte the same.
    static func snapshot(_ root: String) throws -> [String] {
        let fm = FileManager.default
        return try fm.subpathsOfDirectory(atPath: root).sorted().map { path in
            let full = root + "/" + path
            var st = stat()
            lstat(full, &st)
            var digest = ""
            if (st.st_mode & S_IFMT) == S_IFREG, let data = fm.contents(atPath: full) {
                var h: UInt64 = 14695981039346656037
                for b in data { h = (h ^ UInt64(b)) &* 1099511628211 }
                digest = String(h, radix: 16)
            } else if (st.st_mode & S_IFMT) == S_IFLNK {
                digest = (try? fm.destinationOfSymbolicLink(atPath: full)) ?? "?"
            }
            return "\(path) \(st.st_mode) \(st.st_size) \(digest)"
        }
    }

    @Test func environmentFromFlagsAndFileWithoutTheHosts() throws {
        let box = try Sandbox()
        let envFile = box.stateRoot + "/env"
        try "# a comment\n\nFROM_FILE=yes\nSPACED=a b c\n".write(toFile: envFile, atomically: true, encoding: .utf8)
        let r = try box.run(["-q", "-e", "GREETING=hello", "-e", "PATH=/bin", "--env-file", envFile], ["/usr/bin/env"])
        #expect(r.status == 0, "\(r)")
        let lines = Set(r.stdout.split(separator: "\n").map(String.init))
        #expect(lines.isSuperset(of: ["GREETING=hello", "PATH=/bin", "FROM_FILE=yes", "SPACED=a b c", "HOME=/root"]), "\(lines)")
        #expect(!r.stdout.contains("CONTAIN_HOST_ONLY_SECRET"), "the host's environment leaked")
        // A bare name takes the caller's value (docker's -e KEY), and an unset one is left out.
        let bare = try box.start(["run", "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent] + box.commonArguments
                                 + ["-q", "-e", "FROM_CALLER", "-e", "UNSET_IN_CALLER", "--", "/usr/bin/env"],
                                 environment: ["FROM_CALLER": "passed"]).wait()
        #expect(bare.status == 0 && bare.stdout.contains("FROM_CALLER=passed\n") && !bare.stdout.contains("UNSET_IN_CALLER"), "\(bare)")
        let bad = try box.run(["-e", "=oops"], ["true"])
        #expect(bad.status == 125 && bad.errors == ["[contain] error: invalid -e `=oops`: expected KEY=VALUE or KEY"], "\(bad)")
        box.expectClean()
    }

    @Test func volumesBindReadWriteAndReadOnlyAndStayInsideTheRoot() throws {
        let box = try Sandbox()
        let host = box.stateRoot + "/shared"
        try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
        try "from the host\n".write(toFile: host + "/greeting", atomically: true, encoding: .utf8)
        let r = try box.run(["-q", "-v", "\(host):/mnt/rw", "-v", "\(host):/mnt/ro:ro", "-v", "\(host)/greeting:/etc/greeting:ro"], ["sh", "-c", """
            cat /mnt/rw/greeting; echo written > /mnt/rw/from-container && echo rw-ok
            echo nope > /mnt/ro/x 2>/dev/null || echo ro-refused
            cat /etc/greeting
            """])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == "from the host\nrw-ok\nro-refused\nfrom the host\n", "\(r)")
        #expect(try String(contentsOfFile: host + "/from-container", encoding: .utf8) == "written\n")
        #expect(!FileManager.default.fileExists(atPath: host + "/x"))
        box.expectClean()
    }

    @Test func aSymlinkInTheRootfsCannotSendAVolumeOutside() throws {
        // The test rootfs is shared: the symlink lives in a copy of it.
        let box = try Sandbox()
        let rootfs = box.stateRoot + "/rootfs"
        _ = try runTool("/bin/cp", ["-a", Harness.rootfs, rootfs], output: box.stateRoot + "/cp.log")
        let outside = box.stateRoot + "/outside-\(UInt32.random(in: 0..<UInt32.max))"
        try FileManager.default.createSymbolicLink(atPath: rootfs + "/escape", withDestinationPath: outside)
        let host = box.stateRoot + "/shared"
        try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
        let r = try box.contain(["run", "--rootfs", rootfs, "--rootfs-rw", "--cgroup-parent", box.cgroupParent] + box.commonArguments
                                + ["-q", "-v", "\(host):/escape/inner", "--", "sh", "-c", "ls -d /escape/inner && echo mounted"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("mounted"))
        // The absolute symlink was resolved inside the rootfs, not on the host.
        #expect(!FileManager.default.fileExists(atPath: outside), "a volume target escaped the rootfs")
        #expect(FileManager.default.fileExists(atPath: rootfs + outside + "/inner"))
        box.expectClean()
    }

    @Test func badVolumesAreRefused() throws {
        let box = try Sandbox()
        // -v makes a missing host directory (as docker does: RunFlagsTests); --mount refuses it.
        let missing = try box.run(["--mount", "type=bind,source=/no/such/host/path,target=/data"], ["true"])
        #expect(missing.status == 125 && missing.errors.first?.contains("the host path `/no/such/host/path` does not exist") == true, "\(missing)")
        let relative = try box.run(["-v", "/tmp:data"], ["true"])
        #expect(relative.status == 125 && relative.errors.first?.contains("must be absolute") == true, "\(relative)")
        let mode = try box.run(["-v", "/tmp:/data:rx"], ["true"])
        #expect(mode.status == 125 && mode.errors.first?.contains("the mode must be ro or rw") == true, "\(mode)")
        box.expectClean()
    }

    @Test func theRootfsOnDiskIsUnchangedAfterAContainerWroteAllOverIt() throws {
        let box = try Sandbox()
        let before = try Self.snapshot(Harness.rootfs)
        let r = try box.run(["-q"], ["sh", "-c", """
            rm -f /bin/ls && echo changed > /etc/issue && mkdir -p /brand/new && echo x > /brand/new/file \
              && chmod 700 /etc/passwd && rm -rf /home && ln -s /nowhere /dangling && echo done
            ls /brand/new/file; cat /etc/issue
            """])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == "done\n/brand/new/file\nchanged\n", "\(r)")
        #expect(try Self.snapshot(Harness.rootfs) == before, "the rootfs on disk changed")
        // Each container starts from the rootfs as it is on disk.
        let again = try box.run(["-q"], ["sh", "-c", "cat /etc/issue; ls /bin/ls"])
        #expect(again.stdout == "contain busybox rootfs\n/bin/ls\n", "\(again)")
        box.expectClean()
    }

    @Test func rootfsRwWritesThrough() throws {
        let box = try Sandbox()
        let rootfs = box.stateRoot + "/rootfs"
        _ = try runTool("/bin/cp", ["-a", Harness.rootfs, rootfs], output: box.stateRoot + "/cp.log")
        let r = try box.contain(["run", "--rootfs", rootfs, "--rootfs-rw", "--cgroup-parent", box.cgroupParent] + box.commonArguments
                                + ["-q", "--", "sh", "-c", "echo through > /etc/written"])
        #expect(r.status == 0, "\(r)")
        #expect(try String(contentsOfFile: rootfs + "/etc/written", encoding: .utf8) == "through\n")
        box.expectClean()
    }

    @Test func readOnlyRootRefusesWritesButDevShmWorks() throws {
        let box = try Sandbox()
        let r = try box.run(["-q", "--read-only"], ["sh", "-c", """
            touch /x 2>/dev/null || echo root-ro
            echo ok > /dev/shm/f && echo shm-rw
            """])
        #expect(r.stdout == "root-ro\nshm-rw\n", "\(r)")
        box.expectClean()
    }

    @Test func workdirAndUser() throws {
        let box = try Sandbox()
        let r = try box.run(["-q", "-w", "/srv/app", "-u", "nobody"], ["sh", "-c", "pwd; id -u; id -g"])
        #expect(r.stdout == "/srv/app\n65534\n65534\n", "\(r)")
        let numeric = try box.run(["-q", "-u", "1234:5678"], ["sh", "-c", "id -u; id -g"])
        #expect(numeric.stdout == "1234\n5678\n", "\(numeric)")
        let unknown = try box.run(["-u", "ghost"], ["true"])
        #expect(unknown.status == 125 && unknown.errors.first?.contains("no such user \"ghost\" in the container's /etc/passwd") == true, "\(unknown)")
        box.expectClean()
    }

    /// An orphan re-parented to PID 1 must be reaped: under --init it is; a PID 1 that never
    /// waits (here `sleep`, exec'd by the shell) leaves it a zombie, which is what makes this
    /// test able to fail. Zombies are counted from the host, in the container's cgroup.
    @Test(arguments: [true, false])
    func initReapsOrphans(withInit: Bool) throws {
        let box = try Sandbox()
        let running = try box.start(["run", "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent] + box.commonArguments
                                    + ["-q"] + (withInit ? ["--init"] : []) + ["--", "sh", "-c", "(sleep 0.1 &); echo ready; exec sleep 2"])
        #expect(running.waitForOutput("ready"))
        // A zombie has left its cgroup already: look among the children of the live processes.
        func zombies() -> Int {
            let children = box.containerPids().flatMap { pid in
                ((try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? "").split(separator: " ")
            }
            return Set(children).filter { pid in
                let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
                return stat.split(separator: ")").last?.split(separator: " ").first == "Z"
            }.count
        }
        usleep(700_000)
        let count = zombies()
        #expect(withInit ? count == 0 : count >= 1, "zombies: \(count)")
        let r = try running.wait(timeout: 20)
        #expect(r.status == 0, "\(r)")
        box.expectClean()
    }

    @Test func initForwardsSigtermToACommandWithoutAHandler() throws {
        let box = try Sandbox()
        let running = try box.start(["run", "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent] + box.commonArguments
                                    + ["--init", "--", "sh", "-c", "echo ready; exec sleep 30"])
        #expect(running.waitForOutput("ready"))
        usleep(200_000)
        running.signal(SIGTERM)
        let r = try running.wait(timeout: 10)
        #expect(r.status == 128 + SIGTERM, "\(r)")
        box.expectClean()
    }

    @Test func aTarballRootfsIsUnpackedOnceAndReused() throws {
        let box = try Sandbox()
        let tarball = box.stateRoot + "/rootfs.tar.gz"
        let tar = try runTool("/bin/tar", ["-C", Harness.rootfs, "-czf", tarball, "."], output: box.stateRoot + "/tar.log")
        try #require(tar.status == 0, "\(tar.output)")
        func run(_ command: [String]) throws -> RunResult {
            try box.contain(["run", "--rootfs", tarball, "--cgroup-parent", box.cgroupParent] + box.commonArguments + ["--"] + command)
        }
        let first = try run(["sh", "-c", "cat /etc/issue; echo scribble > /etc/issue"])
        #expect(first.status == 0, "\(first)")
        #expect(first.stdout == "contain busybox rootfs\n")
        #expect(first.progress.contains { $0.hasPrefix("[contain] unpacking rootfs: ") }, "\(first)")
        let second = try run(["cat", "/etc/issue"])
        #expect(second.stdout == "contain busybox rootfs\n", "the cached tree is never written: \(second)")
        #expect(second.progress.contains { $0.hasPrefix("[contain] rootfs from cache: ") }, "\(second)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: box.stateRoot + "/rootfs").filter { $0.count == 64 }.count == 1)
        box.expectClean()
    }

    @Test func hostileTarballsStayInside() throws {
        let box = try Sandbox()
        let outside = "/tmp/contain-it-planted-\(UInt32.random(in: 0..<UInt32.max))"
        let script = """
            import io, sys, tarfile
            def add(t, name, data=b"", kind=tarfile.REGTYPE, link=""):
                info = tarfile.TarInfo(name); info.type = kind; info.linkname = link; info.size = len(data)
                t.addfile(info, io.BytesIO(data) if data else None)
            with tarfile.open(sys.argv[1] + "/symlink.tar", "w") as t:
                add(t, "bin/sh", b"#!", tarfile.REGTYPE)
                add(t, "escape", kind=tarfile.SYMTYPE, link="\(outside)")
                add(t, "escape/planted", b"gotcha")
            with tarfile.open(sys.argv[1] + "/dotdot.tar", "w") as t:
                add(t, "../../outside", b"gotcha")
            open(sys.argv[1] + "/garbage.tar", "wb").write(b"this is not a tar archive" * 40)
            """
        let made = try runTool("/usr/bin/python3", ["-c", script, box.stateRoot], output: box.stateRoot + "/py.log")
        try #require(made.status == 0, "\(made.output)")
        func run(_ tarball: String) throws -> RunResult {
            try box.contain(["run", "-q", "--rootfs", box.stateRoot + "/" + tarball, "--cgroup-parent", box.cgroupParent]
                            + box.commonArguments + ["--", "/bin/true"])
        }
        _ = try run("symlink.tar")  // the command itself cannot run; the unpacking is the point
        #expect(!FileManager.default.fileExists(atPath: outside), "an entry followed a symlink out of the root")
        let dotdot = try run("dotdot.tar")
        #expect(dotdot.status == 125 && dotdot.errors.first?.contains("leads outside the root") == true, "\(dotdot)")
        let garbage = try run("garbage.tar")
        #expect(garbage.status == 125 && garbage.errors.first?.contains("not a directory, nor a tar archive") == true, "\(garbage)")
        // Failed unpackings leave no staging directory behind.
        let cache = (try? FileManager.default.contentsOfDirectory(atPath: box.stateRoot + "/rootfs")) ?? []
        #expect(cache.filter { $0.hasPrefix(".new-") }.isEmpty, "\(cache)")
        box.expectClean()
    }

    /// --tmpfs: a fresh tmpfs with docker's default flags and the options given; --ulimit: the
    /// command's limits.
    @Test func tmpfsAndUlimitReachTheCommand() throws {
        let box = try Sandbox()
        let r = try box.run(["-q", "--tmpfs", "/scratch:size=1m,mode=1777", "--ulimit", "nofile=256:512"],
                            ["sh", "-c", "grep ' /scratch ' /proc/mounts; stat -c %a /scratch; ulimit -n; ulimit -Hn"])
        #expect(r.status == 0, "\(r)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("tmpfs /scratch tmpfs rw,nosuid,nodev,noexec") == true && lines.first?.contains("size=1024k") == true, "\(r)")
        #expect(Array(lines.dropFirst()) == ["1777", "256", "512"], "\(r)")
        let bad = try box.run(["--ulimit", "bogus=1"], ["true"])
        #expect(bad.status == 125 && bad.errors.count == 1, "\(bad)")
        box.expectClean()
    }
}
