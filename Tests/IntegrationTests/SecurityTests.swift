import Foundation
import Testing

/// A container is a security boundary (issue 11): docker's default hardening, judged from
/// inside by the test rootfs's probe program (`payload status`, `payload fds`, `payload probe`,
/// Tests/Payload/payload.c), and every option that relaxes it. The probes have no effect outside
/// the container even where a protection is missing: nothing is written to /proc/sys or to a
/// device, no module is loaded, mounts are made inside the container's own mount namespace and
/// undone at once, descriptors are closed at once. The same tests run on the hybrid cgroup v1
/// host and in the cgroup v2 VM, where the device rules are an eBPF program.
@Suite(.enabled(if: Harness.enabled)) struct SecurityTests {
    // MARK: capabilities

    /// Capability names by bit (linux/capability.h), without the CAP_ prefix.
    static let capabilityNames = [
        "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
        "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
        "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
        "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
        "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
        "CHECKPOINT_RESTORE",
    ]

    /// docker's default 14.
    static let dockerDefault: Set<String> = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
                                             "NET_BIND_SERVICE", "NET_RAW", "SYS_CHROOT", "MKNOD", "AUDIT_WRITE", "SETFCAP"]

    static func mask(_ names: Set<String>) -> UInt64 {
        names.reduce(0) { mask, name in mask | (1 << UInt64(capabilityNames.firstIndex(of: name)!)) }
    }

    /// The names of the bits in `mask` (for failure messages), unknown bits by number.
    static func names(_ mask: UInt64) -> [String] {
        (0..<64).filter { mask & (1 << UInt64($0)) != 0 }.map { $0 < capabilityNames.count ? capabilityNames[$0] : "bit\($0)" }
    }

    static let dockerMask = mask(dockerDefault)

    /// The test process's own bounding set: what --privileged can give at most.
    static func hostBounding() throws -> UInt64 {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("CapBnd:") })
        return try #require(UInt64(line.split(whereSeparator: \.isWhitespace).last ?? "", radix: 16))
    }

    /// `payload status` (or a host's /proc/PID/status) as a table: "CapEff" → "00000000a80425fb".
    static func statusFields(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }

    /// A capability set from a status table, nil when the line is missing.
    static func capabilities(_ fields: [String: String], _ key: String) -> UInt64? {
        fields[key].flatMap { UInt64($0, radix: 16) }
    }

    /// Expects the set `key` of `fields` to be `expected`, naming both sides' capabilities.
    static func expectSet(_ fields: [String: String], _ key: String, _ expected: UInt64, _ context: String,
                          sourceLocation: SourceLocation = #_sourceLocation) {
        let actual = capabilities(fields, key)
        #expect(actual == expected,
                "\(key) \(fields[key] ?? "missing"): \(actual.map(names) ?? []) instead of \(names(expected)) (\(context))",
                sourceLocation: sourceLocation)
    }

    /// `contain run -q OPTIONS -- payload status`, its status lines as a table.
    static func status(_ box: Sandbox, _ options: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: String] {
        let r = try box.run(["-q"] + options, ["payload", "status"])
        try #require(r.status == 0, "payload status with \(options): \(r)", sourceLocation: sourceLocation)
        return statusFields(r.stdout)
    }

    // MARK: probes

    /// The lines of `payload probe`: NAME RESULT [DETAIL...], RESULT being `ok`, `errno=E`,
    /// `setup` (the probe could not be prepared), or for `paths` masked/exposed/ro/rw/absent.
    struct Probes: CustomStringConvertible {
        let lines: [String: [String]]
        let description: String

        init(_ stdout: String) {
            description = stdout
            var lines: [String: [String]] = [:]
            for line in stdout.split(separator: "\n") {
                let words = line.split(separator: " ").map(String.init)
                if let name = words.first { lines[name] = Array(words.dropFirst()) }
            }
            self.lines = lines
        }

        func result(_ name: String) -> String { lines[name]?.first ?? "missing" }

        func detail(_ name: String, _ key: String) -> String? {
            lines[name]?.first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
        }

        func line(_ name: String) -> String { lines[name].map { ([name] + $0).joined(separator: " ") } ?? "\(name): no line" }

        /// Expects `name`'s result to be one of `allowed` ("ok", "errno=EPERM", ...).
        func expect(_ name: String, _ allowed: Set<String>, _ why: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(allowed.contains(result(name)), "\(line(name)): expected \(allowed.sorted().joined(separator: " or ")): \(why)",
                    sourceLocation: sourceLocation)
        }
    }

    /// `contain run -q OPTIONS -- payload probe NAMES...`; the probe program ran every probe.
    static func probe(_ box: Sandbox, _ options: [String] = [], _ names: [String],
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> Probes {
        let r = try box.run(["-q"] + options, ["payload", "probe"] + names)
        try #require(r.status == 0, "payload probe \(names) with \(options): \(r)", sourceLocation: sourceLocation)
        return Probes(r.stdout)
    }

    /// Mounts of the probes (/tmp/probe) seen from the host: there must never be one.
    static func probeMountsOnTheHost() throws -> [String] {
        try mountTable().filter { $0.split(separator: " ").last?.hasSuffix("/tmp/probe") == true }
    }

    static let refused: Set<String> = ["errno=EPERM"]
    static let allowed: Set<String> = ["ok"]

    /// A host directory to bind in as a volume.
    static func volume(_ box: Sandbox) throws -> String {
        let dir = box.stateRoot + "/volume"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "inside the volume\n".write(toFile: dir + "/file", atomically: true, encoding: .utf8)
        return dir
    }

    /// `contain --root <sandbox> ARGS`.
    static func contain(_ box: Sandbox, _ arguments: [String], timeout: Double = 60) throws -> RunResult {
        try box.contain(box.commonArguments + arguments, timeout: timeout)
    }

    /// `contain run -d -q --name NAME OPTIONS -- sleep 120`: a container to exec into or list.
    static func detach(_ box: Sandbox, name: String, _ options: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try contain(box, ["run", "-d", "-q", "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent, "--name", name]
                            + options + ["--", "sleep", "120"])
        try #require(r.status == 0, "run -d \(options): \(r)", sourceLocation: sourceLocation)
    }

    static func ps(_ box: Sandbox, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
        let r = try contain(box, ["ps", "--json"])
        try #require(r.status == 0, "\(r)", sourceLocation: sourceLocation)
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
    }

    // MARK: the default container

    /// docker's 14 capabilities in the bounding, permitted and effective sets, nothing
    /// inheritable or ambient, the default seccomp filter (mode 2), no no-new-privileges, and
    /// the working directory inside the new root.
    @Test func defaultContainerHasDockersCapabilitiesAndTheDefaultFilter() throws {
        let box = try Sandbox()
        let fields = try Self.status(box)
        for key in ["CapEff", "CapBnd", "CapPrm"] { Self.expectSet(fields, key, Self.dockerMask, "docker's default 14") }
        Self.expectSet(fields, "CapInh", 0, "nothing inheritable")
        Self.expectSet(fields, "CapAmb", 0, "nothing ambient")
        #expect(fields["Seccomp"] == "2", "a seccomp filter: \(fields)")
        #expect(fields["NoNewPrivs"] == "0", "no-new-privileges only when asked: \(fields)")
        #expect(fields["Uid"]?.split(separator: " ").first == "0", "\(fields)")
        #expect(fields["Cwd"] == "/", "the working directory is the new root: \(fields)")
        box.expectClean()
    }

    /// A new filesystem, by mount(2) and by the new mount API, and a bind remount of /sys or
    /// /proc/sys read-write: all refused (docker: no CAP_SYS_ADMIN, and seccomp).
    @Test func defaultContainerCannotMountOrRemount() throws {
        let box = try Sandbox()
        let p = try Self.probe(box, [], ["mount", "umount", "fsopen", "open_tree", "remount-sys", "remount-proc-sys"])
        p.expect("mount", Self.refused, "mounting a tmpfs needs CAP_SYS_ADMIN")
        p.expect("umount", Self.refused, "umount2 needs CAP_SYS_ADMIN")
        p.expect("fsopen", Self.refused, "the new mount API is refused")
        p.expect("open_tree", Self.refused, "open_tree(OPEN_TREE_CLONE) is refused")
        p.expect("remount-sys", Self.refused, "/sys stays read-only")
        p.expect("remount-proc-sys", Self.refused, "/proc/sys is a read-only mount that cannot be remounted")
        box.expectClean()
    }

    /// mknod may make a node of a device not on the allow-list (/dev/kmsg, c 1 11), but it
    /// cannot be opened, for reading or for writing; the listed devices open.
    @Test func defaultContainerCanMakeButNotOpenADeviceOffTheList() throws {
        let box = try Sandbox()
        let p = try Self.probe(box, [], ["kmsg", "open-r:/dev/null", "open-w:/dev/null", "open-r:/dev/zero", "open-w:/dev/full",
                                         "open-r:/dev/random", "open-r:/dev/urandom", "open-r:/dev/ptmx"])
        p.expect("kmsg-mknod", Self.allowed, "CAP_MKNOD is one of the 14 and the rules allow mknod")
        p.expect("kmsg-open-r", Self.refused, "/dev/kmsg is not on the device allow-list")
        // Writing to /dev/kmsg needs no capability: only the device rules refuse this open.
        p.expect("kmsg-open-w", Self.refused, "/dev/kmsg is not on the device allow-list (write)")
        for name in ["open-r:/dev/null", "open-w:/dev/null", "open-r:/dev/zero", "open-w:/dev/full", "open-r:/dev/random",
                     "open-r:/dev/urandom", "open-r:/dev/ptmx"] {
            p.expect(name, Self.allowed, "on docker's allow-list")
        }
        box.expectClean()
    }

    /// With a volume bound in, open_by_handle_at through it (the way out to the host's `/`) is
    /// refused: no CAP_DAC_READ_SEARCH, and seccomp.
    @Test func defaultContainerCannotOpenByHandleThroughAVolume() throws {
        let box = try Sandbox()
        let host = try Self.volume(box)
        let p = try Self.probe(box, ["-v", host + ":/vol"], ["open_by_handle_at:/vol"])
        p.expect("open_by_handle_at:/vol", Self.refused, "open_by_handle_at needs CAP_DAC_READ_SEARCH")
        box.expectClean()
    }

    /// Kernel interfaces docker keeps from a container: loading a module (an invalid image:
    /// nothing could load), core_pattern for writing (opened only), keyctl, bpf,
    /// perf_event_open, userfaultfd, io_uring.
    @Test func defaultContainerIsRefusedTheKernelsInterfaces() throws {
        let box = try Sandbox()
        let corePattern = try String(contentsOfFile: "/proc/sys/kernel/core_pattern", encoding: .utf8)
        let p = try Self.probe(box, [], ["init_module", "core_pattern", "keyctl", "bpf", "perf_event_open", "userfaultfd",
                                         "io_uring_setup"])
        p.expect("init_module", Self.refused, "no CAP_SYS_MODULE, and seccomp")
        p.expect("core_pattern", ["errno=EROFS", "errno=EACCES"], "/proc/sys is read-only")
        p.expect("keyctl", Self.refused, "keyctl is refused by seccomp")
        p.expect("bpf", Self.refused, "bpf needs CAP_SYS_ADMIN or CAP_BPF")
        p.expect("perf_event_open", ["errno=EPERM", "errno=EACCES"], "perf_event_open is refused by seccomp")
        p.expect("userfaultfd", Self.refused, "userfaultfd is refused by seccomp")
        p.expect("io_uring_setup", Self.refused, "io_uring is refused by seccomp")
        #expect(try String(contentsOfFile: "/proc/sys/kernel/core_pattern", encoding: .utf8) == corePattern)
        box.expectClean()
    }

    /// No new namespaces: unshare and clone of a user namespace (which needs no capability of
    /// the kernel: the filter refuses it; in the chrooted VM the kernel refuses it too) and of a
    /// UTS namespace are refused without CAP_SYS_ADMIN.
    @Test func defaultContainerCannotMakeNamespaces() throws {
        let box = try Sandbox()
        let p = try Self.probe(box, [], ["unshare-user", "clone-user", "unshare-uts", "clone-uts"])
        p.expect("unshare-user", Self.refused, "unshare may not make namespaces without CAP_SYS_ADMIN")
        p.expect("clone-user", Self.refused, "clone may not make namespaces without CAP_SYS_ADMIN")
        p.expect("unshare-uts", Self.refused, "unshare may not make namespaces without CAP_SYS_ADMIN")
        p.expect("clone-uts", Self.refused, "clone may not make namespaces without CAP_SYS_ADMIN")
        box.expectClean()
    }

    /// Whether this machine lets a process make a user namespace at all: not in the cgroup v2
    /// VM, whose tests run chrooted (the kernel refuses a user namespace to a chrooted process,
    /// and to the containers started from it, whatever their capabilities and filter).
    static let userNamespacesPossible: Bool = {
        let output = "/tmp/contain-it-unshare-\(getpid())"
        defer { unlink(output) }
        return (try? runTool("/usr/bin/unshare", ["--user", "/bin/true"], output: output).status) == 0
    }()

    /// docker's masked paths read nothing (they are no longer procfs or sysfs, where they
    /// exist at all), its read-only paths are read-only; /proc/keys in particular is empty.
    @Test func defaultContainerMasksAndProtectsDockersPaths() throws {
        let box = try Sandbox()
        let p = try Self.probe(box, [], ["proc-keys", "paths"])
        #expect(p.result("proc-keys") == "ok" && p.detail("proc-keys", "bytes") == "0", "reads of /proc/keys give nothing: \(p.line("proc-keys"))")
        #expect(p.detail("proc-keys", "fs") != "proc", "/proc/keys is masked: \(p.line("proc-keys"))")
        let masks = p.lines.keys.filter { $0.hasPrefix("mask:") }
        let readOnly = p.lines.keys.filter { $0.hasPrefix("ro:") }
        #expect(masks.count == 11 && readOnly.count == 5, "\(p)")
        for path in masks.sorted() { p.expect(path, ["masked", "absent"], "docker masks it") }
        for path in readOnly.sorted() { p.expect(path, ["ro", "absent"], "docker makes it read-only") }
        box.expectClean()
    }

    /// What docker's defaults leave allowed stays allowed: a raw socket (CAP_NET_RAW), mkdir,
    /// mknod.
    @Test func defaultContainerKeepsWhatDockerAllows() throws {
        let box = try Sandbox()
        let p = try Self.probe(box, [], ["raw-socket", "mkdir", "kmsg"])
        p.expect("raw-socket", Self.allowed, "CAP_NET_RAW is one of the 14")
        p.expect("mkdir", Self.allowed, "mkdir is allowed")
        p.expect("kmsg-mknod", Self.allowed, "mknod is allowed")
        box.expectClean()
    }

    // MARK: descriptors

    /// Only 0, 1 and 2 are open when the command starts: in the foreground, under --init and
    /// detached.
    @Test func onlyTheStandardDescriptorsAreOpenAtExec() throws {
        let box = try Sandbox()
        let foreground = try box.run(["-q"], ["payload", "fds"], stdin: "")
        #expect(foreground.status == 0 && foreground.stdout == "fds 0 1 2\n", "\(foreground)")
        let inited = try box.run(["-q", "--init"], ["payload", "fds"])
        #expect(inited.status == 0 && inited.stdout == "fds 0 1 2\n", "under --init: \(inited)")

        defer { _ = try? Self.contain(box, ["rm", "-f", "fds"]) }
        let detached = try Self.contain(box, ["run", "-d", "-q", "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent,
                                              "--name", "fds", "--", "payload", "fds"])
        try #require(detached.status == 0, "\(detached)")
        let waited = try Self.contain(box, ["wait", "fds"])
        #expect(waited.stdout == "0\n", "\(waited)")
        let logs = try Self.contain(box, ["logs", "fds"])
        #expect(logs.stdout == "fds 0 1 2\n", "detached: \(logs)")
        #expect(try Self.contain(box, ["rm", "-f", "fds"]).status == 0)
        box.expectClean()
    }

    // MARK: exec

    /// `contain exec` into a default container joins with the container's hardening: the same
    /// capability sets and no-new-privileges as its PID 1 (read from the host), seccomp,
    /// refused probes, only fds 0-2, and a working directory inside the root.
    @Test func execJoinsADefaultContainerWithTheSameHardening() throws {
        let box = try Sandbox()
        defer { _ = try? Self.contain(box, ["rm", "-f", "target"]) }
        try Self.detach(box, name: "target")
        let pid = try #require(try Self.ps(box).first { $0["name"] as? String == "target" }?["pid"] as? Int)
        let initFields = Self.statusFields(try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8))

        let r = try Self.contain(box, ["exec", "target", "--", "payload", "status"])
        try #require(r.status == 0, "\(r)")
        let fields = Self.statusFields(r.stdout)
        for key in ["CapEff", "CapBnd", "CapPrm"] {
            Self.expectSet(initFields, key, Self.dockerMask, "the container's PID 1")
            Self.expectSet(fields, key, Self.dockerMask, "exec")
        }
        Self.expectSet(fields, "CapInh", 0, "exec")
        Self.expectSet(fields, "CapAmb", 0, "exec")
        #expect(initFields["Seccomp"] == "2", "the container's PID 1: \(initFields)")
        #expect(fields["Seccomp"] == "2", "exec: \(fields)")
        #expect(fields["NoNewPrivs"] == initFields["NoNewPrivs"] && fields["NoNewPrivs"] == "0", "exec \(fields), init \(initFields)")
        #expect(fields["Cwd"] == "/", "exec's working directory is inside the root: \(fields)")

        let fds = try Self.contain(box, ["exec", "target", "--", "payload", "fds"])
        #expect(fds.status == 0 && fds.stdout == "fds 0 1 2\n", "exec: \(fds)")

        let probes = try Self.contain(box, ["exec", "target", "--", "payload", "probe", "mount", "keyctl", "io_uring_setup", "unshare-user", "kmsg"])
        try #require(probes.status == 0, "\(probes)")
        let p = Probes(probes.stdout)
        p.expect("mount", Self.refused, "exec has no CAP_SYS_ADMIN")
        p.expect("keyctl", Self.refused, "exec runs under the container's filter")
        p.expect("io_uring_setup", Self.refused, "exec runs under the container's filter")
        p.expect("unshare-user", Self.refused, "exec runs under the container's filter")
        p.expect("kmsg-open-w", Self.refused, "exec is under the container's device rules")
        #expect(try Self.contain(box, ["rm", "-f", "target"]).status == 0)
        box.expectClean()
    }

    /// exec keeps the container's options too: its user (no effective capabilities), its
    /// dropped capability, its no-new-privileges.
    @Test func execKeepsTheContainersUserCapabilitiesAndNoNewPrivileges() throws {
        let box = try Sandbox()
        defer { _ = try? Self.contain(box, ["rm", "-f", "strict"]) }
        try Self.detach(box, name: "strict", ["-u", "65534", "--cap-drop", "NET_RAW", "--security-opt", "no-new-privileges"])
        let r = try Self.contain(box, ["exec", "strict", "--", "payload", "status"])
        try #require(r.status == 0, "\(r)")
        let fields = Self.statusFields(r.stdout)
        #expect(fields["Uid"]?.split(separator: " ").first == "65534", "exec runs as the container's user: \(fields)")
        Self.expectSet(fields, "CapEff", 0, "a non-root user has no effective capabilities")
        Self.expectSet(fields, "CapBnd", Self.dockerMask & ~Self.mask(["NET_RAW"]), "--cap-drop NET_RAW")
        #expect(fields["NoNewPrivs"] == "1", "\(fields)")
        #expect(fields["Seccomp"] == "2", "\(fields)")
        #expect(try Self.contain(box, ["rm", "-f", "strict"]).status == 0)
        box.expectClean()
    }

    // MARK: relaxing a protection

    /// --cap-add SYS_ADMIN: the capability, a tmpfs mount and the new mount API work, and the
    /// filter lets unshare and clone make namespaces (a user namespace too, where this machine
    /// allows one: see userNamespacesPossible).
    @Test func capAddSysAdminAllowsMountsAndNewNamespaces() throws {
        let box = try Sandbox()
        let fields = try Self.status(box, ["--cap-add", "SYS_ADMIN"])
        Self.expectSet(fields, "CapEff", Self.dockerMask | Self.mask(["SYS_ADMIN"]), "--cap-add SYS_ADMIN")
        Self.expectSet(fields, "CapBnd", Self.dockerMask | Self.mask(["SYS_ADMIN"]), "--cap-add SYS_ADMIN")
        #expect(fields["Seccomp"] == "2", "still filtered: \(fields)")
        let p = try Self.probe(box, ["--cap-add", "SYS_ADMIN"], ["mount", "fsopen", "unshare-uts", "clone-uts", "unshare-user", "clone-user"])
        p.expect("mount", Self.allowed, "CAP_SYS_ADMIN was added")
        p.expect("fsopen", Self.allowed, "CAP_SYS_ADMIN was added")
        p.expect("unshare-uts", Self.allowed, "the filter allows namespaces with CAP_SYS_ADMIN")
        p.expect("clone-uts", Self.allowed, "the filter allows namespaces with CAP_SYS_ADMIN")
        if Self.userNamespacesPossible {
            p.expect("unshare-user", Self.allowed, "the filter allows namespaces with CAP_SYS_ADMIN")
            p.expect("clone-user", Self.allowed, "the filter allows namespaces with CAP_SYS_ADMIN")
        }
        #expect(try Self.probeMountsOnTheHost() == [], "the container's mount stayed in its namespace")
        box.expectClean()
    }

    /// A raw socket works by default (CAP_NET_RAW is one of the 14) and not after
    /// --cap-drop NET_RAW.
    @Test func capDropNetRawRefusesARawSocket() throws {
        let box = try Sandbox()
        let p = try Self.probe(box, [], ["raw-socket"])
        p.expect("raw-socket", Self.allowed, "allowed by default")
        let fields = try Self.status(box, ["--cap-drop", "NET_RAW"])
        for key in ["CapEff", "CapBnd", "CapPrm"] {
            Self.expectSet(fields, key, Self.dockerMask & ~Self.mask(["NET_RAW"]), "--cap-drop NET_RAW")
        }
        let dropped = try Self.probe(box, ["--cap-drop", "NET_RAW"], ["raw-socket"])
        dropped.expect("raw-socket", Self.refused, "CAP_NET_RAW was dropped")
        box.expectClean()
    }

    /// --cap-drop ALL leaves nothing; --cap-drop ALL --cap-add one gives that one alone.
    @Test func capDropAllLeavesNoCapability() throws {
        let box = try Sandbox()
        let none = try Self.status(box, ["--cap-drop", "ALL"])
        for key in ["CapEff", "CapBnd", "CapPrm"] { Self.expectSet(none, key, 0, "--cap-drop ALL") }
        let one = try Self.status(box, ["--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE"])
        for key in ["CapEff", "CapBnd", "CapPrm"] {
            Self.expectSet(one, key, Self.mask(["NET_BIND_SERVICE"]), "--cap-drop ALL --cap-add NET_BIND_SERVICE")
        }
        let p = try Self.probe(box, ["--cap-drop", "ALL"], ["raw-socket", "kmsg"])
        p.expect("raw-socket", Self.refused, "no CAP_NET_RAW")
        p.expect("kmsg-mknod", Self.refused, "no CAP_MKNOD")
        box.expectClean()
    }

    /// --privileged: every capability this host has, no seccomp, no masked paths, every device.
    @Test func privilegedHasEveryCapabilityNoFilterNoMasksAndEveryDevice() throws {
        let box = try Sandbox()
        let host = try Self.hostBounding()
        let fields = try Self.status(box, ["--privileged"])
        for key in ["CapEff", "CapBnd", "CapPrm"] { Self.expectSet(fields, key, host, "--privileged: the host's bounding set") }
        #expect(fields["Seccomp"] == "0", "--privileged has no filter: \(fields)")
        let p = try Self.probe(box, ["--privileged"], ["proc-keys", "paths", "kmsg", "mount", "keyctl", "io_uring_setup"])
        #expect(p.result("proc-keys") == "ok" && p.detail("proc-keys", "fs") == "proc", "/proc/keys is not masked: \(p.line("proc-keys"))")
        for path in p.lines.keys.filter({ $0.hasPrefix("mask:") }).sorted() { p.expect(path, ["exposed", "absent"], "nothing is masked") }
        p.expect("kmsg-mknod", Self.allowed, "--privileged")
        p.expect("kmsg-open-r", Self.allowed, "every device may be opened (closed at once, never read)")
        p.expect("kmsg-open-w", Self.allowed, "every device may be opened (closed at once, never written)")
        p.expect("mount", Self.allowed, "CAP_SYS_ADMIN")
        p.expect("keyctl", Self.allowed, "no filter")
        p.expect("io_uring_setup", Self.allowed, "no filter")
        #expect(try Self.probeMountsOnTheHost() == [], "the container's mount stayed in its namespace")
        box.expectClean()
    }

    /// --security-opt seccomp=unconfined: no filter, the 14 capabilities still.
    @Test func seccompUnconfinedHasNoFilterButTheSameCapabilities() throws {
        let box = try Sandbox()
        let options = ["--security-opt", "seccomp=unconfined"]
        let fields = try Self.status(box, options)
        #expect(fields["Seccomp"] == "0", "\(fields)")
        for key in ["CapEff", "CapBnd", "CapPrm"] { Self.expectSet(fields, key, Self.dockerMask, "seccomp=unconfined") }
        let p = try Self.probe(box, options, ["keyctl", "io_uring_setup", "mount", "init_module"])
        p.expect("keyctl", Self.allowed, "no filter")
        p.expect("io_uring_setup", Self.allowed, "no filter")
        p.expect("mount", Self.refused, "still no CAP_SYS_ADMIN")
        // Without the filter the kernel answers: EPERM for a missing CAP_SYS_MODULE, or ENOSYS
        // where it was built without modules (this host); either way nothing loads.
        p.expect("init_module", Self.refused.union(["errno=ENOSYS"]), "still no CAP_SYS_MODULE")
        box.expectClean()
    }

    /// --security-opt seccomp=FILE.json in docker's format: a profile that allows everything
    /// but mkdir (SCMP_ACT_ERRNO, docker's EPERM) replaces the default filter.
    @Test func aSeccompProfileFileReplacesTheDefaultFilter() throws {
        let box = try Sandbox()
        let profile = box.stateRoot + "/no-mkdir.json"
        try """
            {
              "defaultAction": "SCMP_ACT_ALLOW",
              "syscalls": [
                { "names": ["mkdir"], "action": "SCMP_ACT_ERRNO" }
              ]
            }
            """.write(toFile: profile, atomically: true, encoding: .utf8)
        let options = ["--security-opt", "seccomp=" + profile]
        let fields = try Self.status(box, options)
        #expect(fields["Seccomp"] == "2", "\(fields)")
        for key in ["CapEff", "CapBnd", "CapPrm"] { Self.expectSet(fields, key, Self.dockerMask, "seccomp=FILE") }
        let p = try Self.probe(box, options, ["mkdir", "keyctl", "io_uring_setup"])
        p.expect("mkdir", Self.refused, "the profile refuses mkdir")
        p.expect("keyctl", Self.allowed, "the profile allows the rest: it replaced the default filter")
        p.expect("io_uring_setup", Self.allowed, "the profile allows the rest: it replaced the default filter")
        // The shell's mkdir is the same system call.
        let shell = try box.run(["-q"] + options, ["sh", "-c", "mkdir /tmp/made 2>/dev/null && echo made || echo refused; touch /tmp/f && echo touched"])
        #expect(shell.stdout == "refused\ntouched\n", "\(shell)")
        box.expectClean()
    }

    /// --security-opt no-new-privileges sets PR_SET_NO_NEW_PRIVS; the filter stays.
    @Test func noNewPrivilegesIsSetWhenAsked() throws {
        let box = try Sandbox()
        let fields = try Self.status(box, ["--security-opt", "no-new-privileges"])
        #expect(fields["NoNewPrivs"] == "1", "\(fields)")
        #expect(fields["Seccomp"] == "2", "\(fields)")
        for key in ["CapEff", "CapBnd"] { Self.expectSet(fields, key, Self.dockerMask, "no-new-privileges") }
        box.expectClean()
    }

    /// --device HOST:CTR[:rwm] adds a device node and allows it, with the access asked for:
    /// /dev/null as /dev/mynull, and /dev/kmsg (off the default list) write-only as /dev/mykmsg
    /// (opened, never written).
    @Test func deviceOptionAddsAnAllowedDevice() throws {
        let box = try Sandbox()
        let p = try Self.probe(box, ["--device", "/dev/null:/dev/mynull", "--device", "/dev/kmsg:/dev/mykmsg:w"],
                               ["open-r:/dev/mynull", "open-w:/dev/mynull", "open-w:/dev/mykmsg", "open-r:/dev/mykmsg", "kmsg"])
        p.expect("open-r:/dev/mynull", Self.allowed, "--device /dev/null:/dev/mynull")
        p.expect("open-w:/dev/mynull", Self.allowed, "--device /dev/null:/dev/mynull (rwm)")
        p.expect("open-w:/dev/mykmsg", Self.allowed, "--device /dev/kmsg:/dev/mykmsg:w allows writing")
        p.expect("open-r:/dev/mykmsg", Self.refused, "--device /dev/kmsg:/dev/mykmsg:w does not allow reading")
        p.expect("kmsg-open-w", Self.allowed, "the rule is the device's, whatever its node is called")
        box.expectClean()
    }

    /// A non-root -u user has no capabilities in its effective or permitted set; the bounding
    /// set is still docker's 14.
    @Test func aNonRootUserHasNoEffectiveCapabilities() throws {
        let box = try Sandbox()
        let fields = try Self.status(box, ["-u", "65534"])
        #expect(fields["Uid"]?.split(separator: " ").first == "65534", "\(fields)")
        Self.expectSet(fields, "CapEff", 0, "-u 65534")
        Self.expectSet(fields, "CapPrm", 0, "-u 65534")
        Self.expectSet(fields, "CapAmb", 0, "-u 65534")
        Self.expectSet(fields, "CapBnd", Self.dockerMask, "-u 65534: the bounding set is still the 14")
        #expect(fields["Seccomp"] == "2", "\(fields)")
        box.expectClean()
    }

    // MARK: observability

    /// `ps --json` shows each container's capabilities (names, with or without CAP_), seccomp
    /// mode ("default", "unconfined" or the profile file) and privileged flag.
    @Test func psShowsCapabilitiesSeccompAndPrivileged() throws {
        let box = try Sandbox()
        let profile = box.stateRoot + "/allow-all.json"
        try #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []}"#.write(toFile: profile, atomically: true, encoding: .utf8)
        let names = ["plain", "loose", "priv", "filed"]
        defer { for name in names { _ = try? Self.contain(box, ["rm", "-f", name]) } }
        try Self.detach(box, name: "plain")
        try Self.detach(box, name: "loose", ["--security-opt", "seccomp=unconfined", "--cap-drop", "NET_RAW", "--cap-add", "SYS_PTRACE"])
        try Self.detach(box, name: "priv", ["--privileged"])
        try Self.detach(box, name: "filed", ["--security-opt", "seccomp=" + profile])
        let listed = try Self.ps(box)
        func entry(_ name: String) -> [String: Any] { listed.first { $0["name"] as? String == name } ?? [:] }
        func capabilities(_ name: String) -> Set<String>? {
            (entry(name)["capabilities"] as? [String]).map { Set($0.map { $0.uppercased().replacingOccurrences(of: "CAP_", with: "") }) }
        }
        #expect(capabilities("plain") == Self.dockerDefault, "\(entry("plain"))")
        #expect(entry("plain")["seccomp"] as? String == "default", "\(entry("plain"))")
        #expect(entry("plain")["privileged"] as? Bool == false, "\(entry("plain"))")

        #expect(capabilities("loose") == Self.dockerDefault.subtracting(["NET_RAW"]).union(["SYS_PTRACE"]), "\(entry("loose"))")
        #expect(entry("loose")["seccomp"] as? String == "unconfined", "\(entry("loose"))")
        #expect(entry("loose")["privileged"] as? Bool == false, "\(entry("loose"))")

        #expect(capabilities("priv")?.isSuperset(of: Self.dockerDefault.union(["SYS_ADMIN", "SYS_MODULE", "DAC_READ_SEARCH"])) == true,
                "\(entry("priv"))")
        #expect(entry("priv")["seccomp"] as? String == "unconfined", "\(entry("priv"))")
        #expect(entry("priv")["privileged"] as? Bool == true, "\(entry("priv"))")

        #expect(capabilities("filed") == Self.dockerDefault, "\(entry("filed"))")
        #expect(entry("filed")["seccomp"] as? String == profile, "\(entry("filed"))")
        #expect(entry("filed")["privileged"] as? Bool == false, "\(entry("filed"))")
        for name in names { #expect(try Self.contain(box, ["rm", "-f", name]).status == 0) }
        box.expectClean()
    }

    // MARK: bad input

    struct BadInput: Sendable, CustomTestStringConvertible {
        let label: String
        /// Options; `@FILE` stands for a file holding `file`.
        let options: [String]
        let file: String?
        /// What the one error line names.
        let culprit: String
        var testDescription: String { label }
    }

    static let badInputs: [BadInput] = [
        BadInput(label: "--cap-add NOPE", options: ["--cap-add", "NOPE"], file: nil, culprit: "NOPE"),
        BadInput(label: "--cap-drop NOPE", options: ["--cap-drop", "NOPE"], file: nil, culprit: "NOPE"),
        BadInput(label: "a seccomp file that is not JSON", options: ["--security-opt", "seccomp=@FILE"],
                 file: "this is { not json", culprit: "@FILE"),
        BadInput(label: "a seccomp file naming an unknown syscall", options: ["--security-opt", "seccomp=@FILE"],
                 file: #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["no_such_syscall"], "action": "SCMP_ACT_ERRNO"}]}"#,
                 culprit: "no_such_syscall"),
        BadInput(label: "a seccomp file naming an unknown action", options: ["--security-opt", "seccomp=@FILE"],
                 file: #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOPE"}]}"#,
                 culprit: "SCMP_ACT_NOPE"),
        BadInput(label: "a missing seccomp file", options: ["--security-opt", "seccomp=/no/such/profile.json"], file: nil,
                 culprit: "/no/such/profile.json"),
        BadInput(label: "--security-opt bogus", options: ["--security-opt", "bogus"], file: nil, culprit: "bogus"),
        BadInput(label: "--device /no/such", options: ["--device", "/no/such"], file: nil, culprit: "/no/such"),
    ]

    /// One clear line naming what is wrong, exit 125, nothing on stdout, nothing left behind.
    @Test(arguments: badInputs)
    func badSecurityInputIsOneLineAnd125(input: BadInput) throws {
        let box = try Sandbox()
        let file = box.stateRoot + "/profile.json"
        if let content = input.file { try content.write(toFile: file, atomically: true, encoding: .utf8) }
        let options = input.options.map { $0.replacingOccurrences(of: "@FILE", with: file) }
        let culprit = input.culprit.replacingOccurrences(of: "@FILE", with: file)
        let r = try box.run(options, ["/bin/true"])
        #expect(r.status == 125, "\(r)")
        #expect(r.errors.count == 1, "exactly one error line: \(r)")
        #expect(r.stderr.split(separator: "\n").allSatisfy { $0.hasPrefix("[contain] ") }, "\(r)")
        #expect(r.errors.first?.contains(culprit) == true, "the error names `\(culprit)`: \(r)")
        #expect(r.stdout == "", "\(r)")
        box.expectClean()
    }
}
