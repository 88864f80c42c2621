import Testing
@testable import ContainOCI
import ContainRuntime

/// config.json into the one configuration: what is honoured, and every key that is not is
/// refused by its path.
@Suite struct OCIConfigTests {
    static func config(_ json: String, id: String = "box") throws(OCIError) -> ContainerConfig {
        try OCIConfig.read(bundle: "/bundles/box", id: id, bytes: Array(json.utf8))
    }

    static func refusal(_ json: String) -> String {
        do {
            _ = try config(json)
            return "(accepted)"
        } catch {
            return error.message
        }
    }

    static let minimal = """
        {"ociVersion": "1.2.0", "process": {"args": ["sh"], "cwd": "/"}, "root": {"path": "rootfs"},
         "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}, {"type": "network"}]}}
        """

    @Test func theSpecTemplateIsReadInFull() throws {
        let config = try Self.config(OCISpecTemplate.text)
        #expect(config.process.args == ["sh"] && config.process.cwd == "/" && config.process.noNewPrivileges)
        #expect(config.process.capabilities?.bounding == ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
        #expect(config.process.capabilities?.ambient == [])
        #expect(config.process.rlimits == [ContainerConfig.Process.Rlimit(type: "RLIMIT_NOFILE", hard: 1024, soft: 1024)])
        #expect(config.root == ContainerConfig.Root(path: "/bundles/box/rootfs", readonly: true))
        #expect(config.hostname == "runc")
        #expect(config.mounts.isEmpty)   // the standard mounts are contain's own
        #expect(config.linux.namespaces.map(\.type) == [.pid, .network, .ipc, .uts, .mount, .cgroup])
        // The config's deny-all, then runc's AllowedDevices.
        #expect(config.linux.deviceCgroupRules == [ContainerConfig.Linux.DeviceRule(allow: false, access: "rwm")] + DeviceRules.dockerDefault.dropFirst())
        #expect(config.linux.maskedPaths.contains("/proc/kcore") && config.linux.readonlyPaths.contains("/proc/sys"))
        #expect(config.linux.cgroupsPath == nil)   // the runtime names it contain-oci/RECORD
        #expect(config.contain.networkMode == .none && config.contain.name == "box" && !config.contain.copyOnWrite)
        #expect(!config.process.terminal)
    }

    @Test func anEnginesNetworkNamespaceIsJoined() throws {
        let config = try Self.config("""
            {"ociVersion": "1.2.0", "process": {"args": ["sh"], "cwd": "/"}, "root": {"path": "rootfs"},
             "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}, {"type": "network", "path": "/run/netns/pod"}]}}
            """)
        #expect(config.linux.namespaces.last == ContainerConfig.Linux.Namespace(type: .network, path: "/run/netns/pod"))
        #expect(config.contain.networkMode == .none)
        #expect(Self.refusal("""
            {"ociVersion": "1.2.0", "process": {"args": ["sh"], "cwd": "/"}, "root": {},
             "linux": {"namespaces": [{"type": "mount"}, {"type": "network"}, {"type": "network", "path": "/run/netns/pod"}]}}
            """) == "linux.namespaces: network listed twice")
    }

    @Test func resourcesMountsAndSeccompAreHonoured() throws {
        let config = try Self.config("""
            {"ociVersion": "1.0.2", "process": {"args": ["true"], "cwd": "/", "user": {"uid": 1000, "gid": 100, "additionalGids": [10]},
             "env": ["A=1"], "oomScoreAdj": 200},
             "root": {"path": "/abs/root"}, "annotations": {"k": "v"},
             "mounts": [{"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind", "ro"]},
                        {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}],
             "linux": {"namespaces": [{"type": "mount"}], "cgroupsPath": "/pods/box",
                       "resources": {"memory": {"limit": 67108864}, "cpu": {"quota": 50000, "period": 100000}, "pids": {"limit": 64},
                                     "hugepageLimits": [{"pageSize": "2MB", "limit": 0}]},
                       "sysctl": {"net.ipv4.ip_forward": "1"},
                       "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                                   "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]}}}
            """)
        #expect(config.process.user.uid == 1000 && config.process.user.gid == 100 && config.process.user.additionalGids == [10])
        #expect(config.process.env == ["A=1"] && config.process.oomScoreAdj == 200)
        #expect(config.root.path == "/abs/root" && config.annotations == ["k": "v"])
        #expect(config.mounts == [ContainerConfig.Mount(destination: "/data", type: "bind", source: "/srv/data", options: ["rbind", "ro"]),
                                  ContainerConfig.Mount(destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["exec", "suid", "dev", "size=1m"])])
        #expect(config.linux.resources?.memory?.limit == 67_108_864 && config.linux.resources?.pids?.limit == 64)
        #expect(config.linux.resources?.cpu?.quota == 50_000 && config.linux.resources?.cpu?.period == 100_000)
        #expect(config.linux.resources?.hugepageLimits == [.init(pageSize: "2MB", limit: 0)])
        #expect(config.linux.cgroupsPath == "pods/box" && config.linux.sysctl == ["net.ipv4.ip_forward": "1"])
        #expect(config.linux.seccomp?.syscalls.first?.names == ["read", "write"])
        // No network namespace listed: the host's network.
        #expect(config.contain.networkMode == .host)
    }

    @Test func hooksAreReadEveryKind() throws {
        let config = try Self.config("""
            {"ociVersion": "1.2.0", "process": {"args": ["sh"], "cwd": "/"}, "root": {}, "linux": {"namespaces": [{"type": "mount"}]},
             "hooks": {"prestart": [{"path": "/a"}], "createRuntime": [{"path": "/b", "args": ["b", "-x"], "env": ["K=V"], "timeout": 5}],
                       "createContainer": [{"path": "/c"}], "startContainer": [{"path": "/d"}], "poststart": [{"path": "/e"}],
                       "poststop": [{"path": "/f"}, {"path": "/g"}]}}
            """)
        let hooks = try #require(config.hooks)
        #expect(hooks.createRuntime == [ContainerConfig.Hook(path: "/b", args: ["b", "-x"], env: ["K=V"], timeout: 5)])
        #expect([hooks.prestart, hooks.createContainer, hooks.startContainer, hooks.poststart].map { $0.map(\.path) } == [["/a"], ["/c"], ["/d"], ["/e"]])
        #expect(hooks.poststop.map(\.path) == ["/f", "/g"])
        #expect(OCIHooks.state(config, id: "box", status: "creating", pid: 42)
                == #"{"ociVersion":"1.2.0","id":"box","status":"creating","pid":42,"bundle":"","annotations":{}}"#)
    }

    /// podman's bundles on cgroup v1: a cgroup mount and no cgroup namespace; contain's name
    /// files are not made (the bundle binds its own).
    @Test func aCgroupMountGetsACgroupNamespaceAndNoNameFilesAreMade() throws {
        let config = try Self.config("""
            {"ociVersion": "1.0.2-dev", "process": {"args": ["sh"], "cwd": "/"}, "root": {},
             "mounts": [{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["ro"]},
                        {"destination": "/etc/hosts", "type": "bind", "source": "/run/podman/hosts", "options": ["bind", "rprivate", "ro"]}],
             "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}}
            """)
        #expect(config.linux.namespaces.map(\.type) == [.pid, .mount, .cgroup])
        #expect(!config.contain.nameFiles)
        #expect(config.mounts == [ContainerConfig.Mount(destination: "/etc/hosts", type: "bind", source: "/run/podman/hosts", options: ["bind", "ro"])])
    }

    @Test func cgroupsPathsStayUnderAParentAtTheRootAndUmaskIsKept() throws {
        func path(_ given: String) throws -> String? {
            try Self.config("""
                {"ociVersion": "1.2.0", "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0, "umask": 18}},
                 "root": {}, "linux": {"namespaces": [{"type": "mount"}], "cgroupsPath": "\(given)"}}
                """).linux.cgroupsPath
        }
        #expect(try path("/libpod_parent/libpod-abc") == "libpod_parent/libpod-abc")   // podman, absolute
        #expect(try path("/default/task") == "default/task")                           // containerd
        #expect(try path("pods/box") == "contain-oci/pods/box")   // relative: never under the caller's cgroup
        #expect(try path("/box") == "contain-oci/box")            // no parent of its own at the root
        #expect(try path("") == nil)
        #expect(try Self.config("""
            {"ociVersion": "1.2.0", "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0, "umask": 18}}, "root": {},
             "linux": {"namespaces": [{"type": "mount"}]}}
            """).process.user.umask == 0o022)
    }

    @Test(arguments: [
        ("{", "not valid JSON"),
        ("[1]", "config.json: must be an object"),
        ("{\"process\": {}}", "ociVersion: missing"),
        ("{\"ociVersion\": \"1.2.0\", \"process\": {\"args\": [], \"cwd\": \"/\"}, \"root\": {}}", "process.args: missing or empty"),
        ("{\"ociVersion\": \"1.2.0\", \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\", \"selinuxLabel\": \"x\"}, \"root\": {}}", "process.selinuxLabel"),
        ("{\"ociVersion\": \"1.2.0\", \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\", \"frobnicate\": 1}, \"root\": {}}", "process.frobnicate: not supported by contain (yet), and not ignored"),
        ("{\"ociVersion\": \"1.2.0\", \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}, \"root\": {}, \"linux\": {\"namespaces\": [{\"type\": \"mount\"}, {\"type\": \"pid\", \"path\": \"/proc/1/ns/pid\"}]}}", "joining an existing pid namespace (/proc/1/ns/pid) is not supported yet"),
        ("{\"ociVersion\": \"1.2.0\", \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}, \"root\": {}, \"linux\": {\"namespaces\": [{\"type\": \"pid\"}]}}", "own mount namespace"),
        ("{\"ociVersion\": \"1.2.0\", \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}, \"root\": {}, \"linux\": {\"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}]}}", "linux.uidMappings: user namespaces"),
        ("{\"ociVersion\": \"1.2.0\", \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}, \"root\": {}, \"linux\": {\"namespaces\": [{\"type\": \"mount\"}], \"resources\": {\"memory\": {\"swappiness\": 10}}}}", "linux.resources.memory.swappiness: not supported"),
        ("{\"ociVersion\": \"1.2.0\", \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}, \"root\": {}, \"linux\": {\"namespaces\": [{\"type\": \"mount\"}], \"resources\": {\"hugepageLimits\": [{\"pageSize\": \"2M\", \"limit\": 0}]}}}", "pageSize `2M`: as hugetlb names it"),
        ("{\"ociVersion\": \"1.2.0\", \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}, \"root\": {}, \"linux\": {\"namespaces\": [{\"type\": \"mount\"}], \"resources\": {\"blockIO\": {\"weight\": 100}}}}", "linux.resources.blockIO: not supported yet"),
        ("{\"ociVersion\": \"1.2.0\", \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}, \"root\": {}, \"hooks\": {\"poststart\": [{\"path\": \"true\"}]}}", "hooks.poststart[0].path: missing or not absolute"),
        ("{\"ociVersion\": \"1.2.0\", \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}, \"root\": {}, \"hooks\": {\"prestart\": [{\"path\": \"/bin/true\", \"timeout\": 0}]}}", "hooks.prestart[0].timeout: seconds, more than 0"),
        ("{\"ociVersion\": \"1.2.0\", \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}, \"root\": {}, \"mounts\": [{\"destination\": \"/x\", \"type\": \"nfs\", \"source\": \"srv:/x\"}], \"linux\": {\"namespaces\": [{\"type\": \"mount\"}]}}", "a nfs mount at /x is not supported yet"),
        ("{\"ociVersion\": \"1.2.0\", \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}, \"root\": {}, \"linux\": {\"namespaces\": [{\"type\": \"mount\"}], \"cgroupsPath\": \"machine.slice:libpod:box\"}}", "needs the systemd cgroup manager"),
        ("{\"ociVersion\": \"1.2.0\", \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}, \"root\": {}, \"linux\": {\"namespaces\": [{\"type\": \"mount\"}], \"cgroupsPath\": \"/pods/../box\"}}", "expected PARENT/NAME"),
        ("{\"ociVersion\": \"1.2.0\", \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\", \"user\": {\"umask\": 512}}, \"root\": {}}", "process.user.umask: from 0 to 0777"),
        ("{\"ociVersion\": \"2.0.0\", \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}, \"root\": {}}", "contain reads runtime-spec 1.x"),
    ])
    func refusedByPath(json: String, words: String) {
        let message = Self.refusal(json)
        #expect(message.contains(words), "\(message)")
    }
}
