/// One container, described the way the OCI runtime spec's `config.json` describes it
/// (https://github.com/opencontainers/runtime-spec/blob/main/config.md), with Swift names,
/// plus `contain`: what contain itself adds (networks, --init, copy-on-write, lifetime).
///
/// Every type has a memberwise init whose defaults are "not asked for", so a builder fills in
/// only what it knows. Its tagged encoding is in ContainerConfig+Encoding.swift; the builder
/// from `contain run`'s options is in ContainerConfig+Spec.swift.
public struct ContainerConfig: Equatable, Sendable {
    /// `ociVersion`
    public var ociVersion: String
    /// `process`
    public var process: Process
    /// `root`
    public var root: Root
    /// `hostname`
    public var hostname: String?
    /// `mounts`, in the order they are mounted.
    public var mounts: [Mount]
    /// `hooks`
    public var hooks: Hooks?
    /// `annotations`; encoded in key order.
    public var annotations: [String: String]
    /// `linux`
    public var linux: Linux
    /// Not OCI: contain's own settings.
    public var contain: ContainExtensions

    public static let defaultOCIVersion = "1.0.2"

    public init(ociVersion: String = defaultOCIVersion, process: Process = .init(), root: Root = .init(),
                hostname: String? = nil, mounts: [Mount] = [], hooks: Hooks? = nil,
                annotations: [String: String] = [:], linux: Linux = .init(), contain: ContainExtensions = .init()) {
        self.ociVersion = ociVersion
        self.process = process
        self.root = root
        self.hostname = hostname
        self.mounts = mounts
        self.hooks = hooks
        self.annotations = annotations
        self.linux = linux
        self.contain = contain
    }
}

// MARK: - process

extension ContainerConfig {
    /// `process`: what runs, as whom, with which privileges. `exec` receives only this part.
    public struct Process: Equatable, Sendable {
        /// `process.terminal`
        public var terminal: Bool
        /// `process.user`
        public var user: User
        /// `process.args`
        public var args: [String]
        /// `process.env`: `KEY=VALUE` entries.
        public var env: [String]
        /// `process.cwd`: absolute, inside the container.
        public var cwd: String
        /// `process.capabilities`; nil: the runtime's default set.
        public var capabilities: Capabilities?
        /// `process.rlimits`
        public var rlimits: [Rlimit]
        /// `process.noNewPrivileges`
        public var noNewPrivileges: Bool
        /// `process.oomScoreAdj`
        public var oomScoreAdj: Int32?

        public init(terminal: Bool = false, user: User = .init(), args: [String] = [], env: [String] = [],
                    cwd: String = "/", capabilities: Capabilities? = nil, rlimits: [Rlimit] = [],
                    noNewPrivileges: Bool = false, oomScoreAdj: Int32? = nil) {
            self.terminal = terminal
            self.user = user
            self.args = args
            self.env = env
            self.cwd = cwd
            self.capabilities = capabilities
            self.rlimits = rlimits
            self.noNewPrivileges = noNewPrivileges
            self.oomScoreAdj = oomScoreAdj
        }

        /// `process.user`. With `username` (or `groupname`) set, the ids are still to be looked up
        /// in the container's /etc/passwd (/etc/group) after the pivot, as `-u NAME[:GROUP]` asks;
        /// numeric text there is taken as an id (`-u 1000` takes its group from passwd).
        public struct User: Equatable, Sendable {
            /// `process.user.uid`
            public var uid: UInt32
            /// `process.user.gid`
            public var gid: UInt32
            /// `process.user.additionalGids`
            public var additionalGids: [UInt32]
            /// Not OCI (its `username` is Windows-only): a user name still to be resolved.
            public var username: String?
            /// Not OCI: a group name still to be resolved.
            public var groupname: String?
            /// Not OCI: `--group-add` names, looked up in the container's /etc/group.
            public var additionalGroupNames: [String]
            /// `process.user.umask`; nil: the runtime's (0022, as runc).
            public var umask: UInt32?

            public init(uid: UInt32 = 0, gid: UInt32 = 0, additionalGids: [UInt32] = [],
                        username: String? = nil, groupname: String? = nil, additionalGroupNames: [String] = [],
                        umask: UInt32? = nil) {
                self.uid = uid
                self.gid = gid
                self.additionalGids = additionalGids
                self.username = username
                self.groupname = groupname
                self.additionalGroupNames = additionalGroupNames
                self.umask = umask
            }
        }

        /// `process.capabilities`: capability names such as `CAP_NET_BIND_SERVICE`, per set.
        public struct Capabilities: Equatable, Sendable {
            /// `process.capabilities.bounding`
            public var bounding: [String]
            /// `process.capabilities.effective`
            public var effective: [String]
            /// `process.capabilities.inheritable`
            public var inheritable: [String]
            /// `process.capabilities.permitted`
            public var permitted: [String]
            /// `process.capabilities.ambient`
            public var ambient: [String]

            public init(bounding: [String] = [], effective: [String] = [], inheritable: [String] = [],
                        permitted: [String] = [], ambient: [String] = []) {
                self.bounding = bounding
                self.effective = effective
                self.inheritable = inheritable
                self.permitted = permitted
                self.ambient = ambient
            }
        }

        /// `process.rlimits[]`: `type` is the resource's name, e.g. `RLIMIT_NOFILE`.
        public struct Rlimit: Equatable, Sendable {
            /// `process.rlimits[].type`
            public var type: String
            /// `process.rlimits[].hard`
            public var hard: UInt64
            /// `process.rlimits[].soft`
            public var soft: UInt64

            public init(type: String, hard: UInt64, soft: UInt64) {
                self.type = type
                self.hard = hard
                self.soft = soft
            }
        }
    }
}

// MARK: - root, mounts, hooks

extension ContainerConfig {
    /// `root`: the container's root filesystem.
    public struct Root: Equatable, Sendable {
        /// `root.path`: on the host.
        public var path: String
        /// `root.readonly`
        public var readonly: Bool

        public init(path: String = "rootfs", readonly: Bool = false) {
            self.path = path
            self.readonly = readonly
        }
    }

    /// `mounts[]`
    public struct Mount: Equatable, Sendable {
        /// `mounts[].destination`: absolute, inside the container.
        public var destination: String
        /// `mounts[].type`: `bind`, `proc`, `tmpfs`, ...
        public var type: String?
        /// `mounts[].source`: a host path for binds, a device or a name otherwise.
        public var source: String?
        /// `mounts[].options`: `rbind`, `ro`, `nosuid`, `size=64m`, ...
        public var options: [String]

        public init(destination: String, type: String? = nil, source: String? = nil, options: [String] = []) {
            self.destination = destination
            self.type = type
            self.source = source
            self.options = options
        }
    }

    /// `hooks`: programs the runtime runs at points of the lifecycle.
    public struct Hooks: Equatable, Sendable {
        /// `hooks.prestart` (deprecated in OCI, still used)
        public var prestart: [Hook]
        /// `hooks.createRuntime`
        public var createRuntime: [Hook]
        /// `hooks.createContainer`
        public var createContainer: [Hook]
        /// `hooks.startContainer`
        public var startContainer: [Hook]
        /// `hooks.poststart`
        public var poststart: [Hook]
        /// `hooks.poststop`
        public var poststop: [Hook]

        public init(prestart: [Hook] = [], createRuntime: [Hook] = [], createContainer: [Hook] = [],
                    startContainer: [Hook] = [], poststart: [Hook] = [], poststop: [Hook] = []) {
            self.prestart = prestart
            self.createRuntime = createRuntime
            self.createContainer = createContainer
            self.startContainer = startContainer
            self.poststart = poststart
            self.poststop = poststop
        }
    }

    /// `hooks.*[]`
    public struct Hook: Equatable, Sendable {
        /// `hooks.*[].path`: absolute, on the host.
        public var path: String
        /// `hooks.*[].args`, with argv[0].
        public var args: [String]
        /// `hooks.*[].env`
        public var env: [String]
        /// `hooks.*[].timeout`, in seconds.
        public var timeout: Int32?

        public init(path: String, args: [String] = [], env: [String] = [], timeout: Int32? = nil) {
            self.path = path
            self.args = args
            self.env = env
            self.timeout = timeout
        }
    }
}

// MARK: - linux

extension ContainerConfig {
    /// `linux`
    public struct Linux: Equatable, Sendable {
        /// `linux.namespaces`: the ones to create, or to join when a path is given.
        public var namespaces: [Namespace]
        /// `linux.resources`
        public var resources: Resources?
        /// `linux.cgroupsPath`: relative to the cgroup hierarchy's root.
        public var cgroupsPath: String?
        /// `linux.devices`: device nodes created in the container.
        public var devices: [Device]
        /// `linux.resources.devices`: the device cgroup's allow and deny list, in order.
        public var deviceCgroupRules: [DeviceRule]
        /// `linux.maskedPaths`
        public var maskedPaths: [String]
        /// `linux.readonlyPaths`
        public var readonlyPaths: [String]
        /// `linux.seccomp`
        public var seccomp: Seccomp?
        /// `linux.sysctl`; encoded in key order.
        public var sysctl: [String: String]
        /// `linux.rootfsPropagation`: `private`, `slave`, `shared` or `unbindable`.
        public var rootfsPropagation: String?

        public init(namespaces: [Namespace] = [], resources: Resources? = nil, cgroupsPath: String? = nil,
                    devices: [Device] = [], deviceCgroupRules: [DeviceRule] = [], maskedPaths: [String] = [],
                    readonlyPaths: [String] = [], seccomp: Seccomp? = nil, sysctl: [String: String] = [:],
                    rootfsPropagation: String? = nil) {
            self.namespaces = namespaces
            self.resources = resources
            self.cgroupsPath = cgroupsPath
            self.devices = devices
            self.deviceCgroupRules = deviceCgroupRules
            self.maskedPaths = maskedPaths
            self.readonlyPaths = readonlyPaths
            self.seccomp = seccomp
            self.sysctl = sysctl
            self.rootfsPropagation = rootfsPropagation
        }

        /// `linux.namespaces[].type`, with OCI's names.
        public enum NamespaceType: String, Equatable, Sendable, CaseIterable, TaggedCodable {
            case pid, network, mount, ipc, uts, user, cgroup, time
        }

        /// `linux.namespaces[]`
        public struct Namespace: Equatable, Sendable {
            /// `linux.namespaces[].type`
            public var type: NamespaceType
            /// `linux.namespaces[].path`: join this existing namespace instead of creating one.
            public var path: String?

            public init(type: NamespaceType, path: String? = nil) {
                self.type = type
                self.path = path
            }
        }

        /// `linux.resources`: cgroup limits.
        public struct Resources: Equatable, Sendable {
            /// `linux.resources.memory`
            public var memory: Memory?
            /// `linux.resources.cpu`
            public var cpu: CPU?
            /// `linux.resources.pids`
            public var pids: Pids?
            /// `linux.resources.hugepageLimits`: bytes of huge pages of each size (`2MB`, `1GB`).
            public var hugepageLimits: [HugepageLimit]

            public init(memory: Memory? = nil, cpu: CPU? = nil, pids: Pids? = nil, hugepageLimits: [HugepageLimit] = []) {
                self.memory = memory
                self.cpu = cpu
                self.pids = pids
                self.hugepageLimits = hugepageLimits
            }

            /// `linux.resources.hugepageLimits[]`
            public struct HugepageLimit: Equatable, Sendable {
                /// `pageSize`: as the hugetlb controller names it (`2MB`, `1GB`).
                public var pageSize: String
                /// `limit`, in bytes.
                public var limit: UInt64

                public init(pageSize: String, limit: UInt64) {
                    self.pageSize = pageSize
                    self.limit = limit
                }
            }

            /// `linux.resources.memory`, in bytes; -1 is unlimited.
            public struct Memory: Equatable, Sendable {
                /// `linux.resources.memory.limit`
                public var limit: Int64?
                /// `linux.resources.memory.swap`: memory plus swap.
                public var swap: Int64?
                /// `linux.resources.memory.reservation`: a soft limit.
                public var reservation: Int64?

                public init(limit: Int64? = nil, swap: Int64? = nil, reservation: Int64? = nil) {
                    self.limit = limit
                    self.swap = swap
                    self.reservation = reservation
                }
            }

            /// `linux.resources.cpu`
            public struct CPU: Equatable, Sendable {
                /// `linux.resources.cpu.quota`: microseconds per period; -1 is unlimited.
                public var quota: Int64?
                /// `linux.resources.cpu.period`: microseconds.
                public var period: UInt64?
                /// `linux.resources.cpu.shares`: relative weight.
                public var shares: UInt64?
                /// `linux.resources.cpu.cpus`: a cpuset list such as `0-3,6`.
                public var cpus: String?
                /// `linux.resources.cpu.mems`: memory nodes, a list like `cpus`.
                public var mems: String?

                public init(quota: Int64? = nil, period: UInt64? = nil, shares: UInt64? = nil, cpus: String? = nil,
                            mems: String? = nil) {
                    self.quota = quota
                    self.period = period
                    self.shares = shares
                    self.cpus = cpus
                    self.mems = mems
                }
            }

            /// `linux.resources.pids`
            public struct Pids: Equatable, Sendable {
                /// `linux.resources.pids.limit`; -1 is unlimited.
                public var limit: Int64

                public init(limit: Int64) { self.limit = limit }
            }
        }

        /// `linux.devices[]`
        public struct Device: Equatable, Sendable {
            /// `linux.devices[].path`: inside the container.
            public var path: String
            /// `linux.devices[].type`: `c`, `b`, `u` or `p`.
            public var type: String
            /// `linux.devices[].major`
            public var major: Int64
            /// `linux.devices[].minor`
            public var minor: Int64
            /// `linux.devices[].fileMode`
            public var fileMode: UInt32?
            /// `linux.devices[].uid`
            public var uid: UInt32?
            /// `linux.devices[].gid`
            public var gid: UInt32?

            public init(path: String, type: String, major: Int64 = 0, minor: Int64 = 0, fileMode: UInt32? = nil,
                        uid: UInt32? = nil, gid: UInt32? = nil) {
                self.path = path
                self.type = type
                self.major = major
                self.minor = minor
                self.fileMode = fileMode
                self.uid = uid
                self.gid = gid
            }
        }

        /// `linux.resources.devices[]`: nil type, major or minor means all.
        public struct DeviceRule: Equatable, Sendable {
            /// `linux.resources.devices[].allow`
            public var allow: Bool
            /// `linux.resources.devices[].type`: `a`, `c` or `b`.
            public var type: String?
            /// `linux.resources.devices[].major`
            public var major: Int64?
            /// `linux.resources.devices[].minor`
            public var minor: Int64?
            /// `linux.resources.devices[].access`: some of `rwm`.
            public var access: String?

            public init(allow: Bool, type: String? = nil, major: Int64? = nil, minor: Int64? = nil, access: String? = nil) {
                self.allow = allow
                self.type = type
                self.major = major
                self.minor = minor
                self.access = access
            }
        }

        /// `linux.seccomp`
        public struct Seccomp: Equatable, Sendable {
            /// `linux.seccomp.defaultAction`: `SCMP_ACT_ERRNO`, `SCMP_ACT_ALLOW`, ...
            public var defaultAction: String
            /// `linux.seccomp.defaultErrnoRet`
            public var defaultErrnoRet: UInt32?
            /// `linux.seccomp.architectures`: `SCMP_ARCH_X86_64`, ...
            public var architectures: [String]
            /// `linux.seccomp.syscalls`
            public var syscalls: [SyscallRule]

            public init(defaultAction: String, defaultErrnoRet: UInt32? = nil, architectures: [String] = [],
                        syscalls: [SyscallRule] = []) {
                self.defaultAction = defaultAction
                self.defaultErrnoRet = defaultErrnoRet
                self.architectures = architectures
                self.syscalls = syscalls
            }

            /// `linux.seccomp.syscalls[]`
            public struct SyscallRule: Equatable, Sendable {
                /// `linux.seccomp.syscalls[].names`
                public var names: [String]
                /// `linux.seccomp.syscalls[].action`
                public var action: String
                /// `linux.seccomp.syscalls[].errnoRet`
                public var errnoRet: UInt32?
                /// `linux.seccomp.syscalls[].args`
                public var args: [Arg]

                public init(names: [String], action: String, errnoRet: UInt32? = nil, args: [Arg] = []) {
                    self.names = names
                    self.action = action
                    self.errnoRet = errnoRet
                    self.args = args
                }
            }

            /// `linux.seccomp.syscalls[].args[]`
            public struct Arg: Equatable, Sendable {
                /// `linux.seccomp.syscalls[].args[].index`
                public var index: UInt32
                /// `linux.seccomp.syscalls[].args[].value`
                public var value: UInt64
                /// `linux.seccomp.syscalls[].args[].valueTwo`
                public var valueTwo: UInt64
                /// `linux.seccomp.syscalls[].args[].op`: `SCMP_CMP_EQ`, `SCMP_CMP_MASKED_EQ`, ...
                public var op: String

                public init(index: UInt32, value: UInt64, valueTwo: UInt64 = 0, op: String) {
                    self.index = index
                    self.value = value
                    self.valueTwo = valueTwo
                    self.op = op
                }
            }
        }
    }
}

// MARK: - contain's own

extension ContainerConfig {
    /// Not OCI: what contain adds to a container beyond the runtime spec.
    public struct ContainExtensions: Equatable, Sendable {
        /// `--net`: none (own namespace, `lo` only), host, or a bridge network.
        public var networkMode: NetworkMode
        /// The networks the container is attached to, with what `--ip`, `-p`, `--dns` asked.
        public var networkAttachments: [NetworkAttachment]
        /// `--name`
        public var name: String?
        /// `--init`: a minimal init as PID 1.
        public var runInit: Bool
        /// An overlay over the rootfs, so the rootfs is never written (false: `--rootfs-rw`).
        public var copyOnWrite: Bool
        /// `-d`
        public var detached: Bool
        /// `--rm`
        public var removeWhenDone: Bool
        /// `--privileged`: every capability, no seccomp, no masked paths, every device, /sys writable.
        public var privileged: Bool
        /// Where `linux.seccomp` came from, for `ps`: `default`, `unconfined`, or the profile's path.
        public var seccompProfile: String
        /// `--shm-size`: /dev/shm's size in bytes (nil: docker's 64 MiB). Without an IPC namespace
        /// of its own the container gets the host's /dev/shm instead.
        public var shmSize: UInt64?
        /// `-i`: the caller's stdin is relayed (a detached container's stdin stays open).
        public var interactive: Bool
        /// `--restart`: `no`, `always`, `unless-stopped`, `on-failure[:N]` (RestartPolicy).
        public var restartPolicy: String?
        /// `--log-opt max-size=`, `max-file=`: a detached container's log rotation.
        public var logMaxSize: UInt64?
        public var logMaxFiles: Int32?
        /// `--stop-signal`, `--stop-timeout` (seconds): what `contain stop` does.
        public var stopSignal: Int32?
        public var stopTimeout: Int32?
        /// `--add-host NAME:ADDR` (ADDR may be `host-gateway`), `--dns-search`, `--dns-option`.
        public var extraHosts: [String]
        public var dnsSearch: [String]
        public var dnsOptions: [String]
        /// /etc/hosts, /etc/hostname and /etc/resolv.conf generated and bound in (docker's);
        /// false for an OCI bundle, whose config.json lists the mounts it wants (runc's).
        public var nameFiles = true
        /// On cgroup v1, every mounted hierarchy joined, as runc does (an OCI bundle's); false:
        /// only those contain uses (docker's).
        public var everyCgroupHierarchy = false

        public init(networkMode: NetworkMode = .none, networkAttachments: [NetworkAttachment] = [], name: String? = nil,
                    runInit: Bool = false, copyOnWrite: Bool = true, detached: Bool = false, removeWhenDone: Bool = false,
                    privileged: Bool = false, seccompProfile: String = "default", shmSize: UInt64? = nil,
                    interactive: Bool = false, restartPolicy: String? = nil, logMaxSize: UInt64? = nil, logMaxFiles: Int32? = nil,
                    stopSignal: Int32? = nil, stopTimeout: Int32? = nil, extraHosts: [String] = [], dnsSearch: [String] = [],
                    dnsOptions: [String] = []) {
            self.extraHosts = extraHosts
            self.dnsSearch = dnsSearch
            self.dnsOptions = dnsOptions
            self.shmSize = shmSize
            self.interactive = interactive
            self.restartPolicy = restartPolicy
            self.logMaxSize = logMaxSize
            self.logMaxFiles = logMaxFiles
            self.stopSignal = stopSignal
            self.stopTimeout = stopTimeout
            self.networkMode = networkMode
            self.networkAttachments = networkAttachments
            self.name = name
            self.runInit = runInit
            self.copyOnWrite = copyOnWrite
            self.detached = detached
            self.removeWhenDone = removeWhenDone
            self.privileged = privileged
            self.seccompProfile = seccompProfile
        }
    }

    /// Not OCI: one network the container joins.
    public struct NetworkAttachment: Equatable, Sendable {
        /// The network's name (`contain` for `--net bridge`).
        public var network: String
        /// `--ip`: a fixed address; nil: the next free one.
        public var address: String?
        /// `-p`: `[HOSTIP:]HOSTPORT:CTRPORT/PROTO`, as PortMapping prints them.
        public var ports: [String]
        /// `--dns`: resolvers instead of the network's name server.
        public var dns: [String]
        /// `--network-alias`, `--net NAME:alias=A`: more names for it on this network.
        public var aliases: [String]

        /// `--ip6`: a fixed IPv6 address; nil: the next free one (on a dual-stack network).
        public var address6: String?
        /// `--mac-address`: its interface's MAC address; nil: from its IPv4 address.
        public var mac: String?
        /// `--impair`: what its interface's egress suffers from the start (Impairment's
        /// `delay=40ms,loss=1%` form).
        public var impair: String?

        public init(network: String, address: String? = nil, ports: [String] = [], dns: [String] = [], aliases: [String] = [],
                    address6: String? = nil, mac: String? = nil, impair: String? = nil) {
            self.mac = mac
            self.impair = impair
            self.aliases = aliases
            self.address6 = address6
            self.network = network
            self.address = address
            self.ports = ports
            self.dns = dns
        }
    }
}
