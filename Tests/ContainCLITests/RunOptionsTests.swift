import Testing
@testable import contain

/// The fast `run` parser must agree with swift-argument-parser on every command line it takes,
/// and leave to it every command line it is not sure of.
@Suite struct RunOptionsTests {
    static let accepted: [[String]] = [
        ["--rootfs", "r", "--", "/bin/true"],
        ["--rootfs=r", "-q", "--", "sh", "-c", "echo hi"],
        ["--rootfs", "r", "--memory", "64M", "--cpu", "50000", "--pids", "64", "--hostname", "box", "--", "true"],
        ["--rootfs", "r", "--memory", "-1", "--", "true"],
        ["--memory=1G", "--cpus", "1.5", "--rootfs", "r", "--quiet", "--timings", "--", "true", "--", "-x"],
        ["--rootfs", "r", "--net", "bridge", "--name", "web", "--ip", "10.88.0.9", "--dns", "192.0.2.1", "--dns", "192.0.2.2",
         "-p", "8080:80", "--publish", "53:53/udp", "--cgroup-parent", "a/b", "--root", "/tmp/x", "--", "httpd", "-f"],
        ["--net=lab", "--rootfs", "r", "--", "ls", "-l"],
        ["--rootfs", "r", "-e", "A=1", "--env", "B=2", "--env-file", "f", "-v", "/a:/b:ro", "--volume=/c:/d", "-w", "/tmp",
         "-u", "1000:1000", "--init", "--read-only", "--rootfs-rw", "--", "id"],
        ["--rootfs", "r", "--user=nobody", "--workdir=/srv", "--", "pwd"],
        ["--rootfs", "r", "-d", "--rm", "--name", "bg", "--", "sleep", "60"],
        ["--rootfs", "r", "--detach", "--supervise-id", "abc", "--", "sleep", "60"],
        // As docker takes the command after the image: the first word that is not an option.
        ["--rootfs", "r", "true"],
        ["--rootfs", "r", "-q", "sh", "-c", "echo x", "--", "-y"],
        ["--rootfs", "r", "--network", "lab", "-it", "--cap-add", "NET_ADMIN", "--cap-drop", "MKNOD", "--privileged",
         "--security-opt", "no-new-privileges", "--device", "/dev/null", "--tmpfs", "/run:size=1m", "--ulimit", "nofile=64", "sh"],
        ["--rootfs", "r", "--memory", "64m", "--memory-swap", "-1", "--memory-reservation", "32m", "-c", "512",
         "--cpuset-cpus", "0", "--cpuset-mems=0", "--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shmmax=1024",
         "--shm-size", "128m", "--oom-score-adj", "-500", "--group-add", "wheel", "--group-add", "44",
         "--entrypoint", "/bin/echo", "--pid", "host", "--ipc=host", "--uts", "host", "hello"],
        ["--rootfs", "r", "-d", "--log-opt", "max-size=1m", "--log-opt=max-file=2", "--mount", "type=tmpfs,target=/t",
         "--restart", "on-failure:3", "sh"],
        ["--rootfs", "r", "--net", "bridge", "--add-host", "db:192.0.2.7", "--add-host=gw:host-gateway", "--dns-search", "lab.example",
         "--dns-option", "ndots:2", "--dns-opt", "edns0", "--net", "container:web", "sh"],
        ["--rootfs", "r", "--net", "left:ip=10.88.20.5", "--network", "right", "--net=third", "sh"],
        ["--rootfs", "r", "--net", "a:alias=web,ip=10.88.20.5", "--network-alias", "www", "--network-alias=api.internal", "sh"],
        ["--rootfs", "r", "--net", "a", "--ip6", "fd00:88::7", "--net", "b:ip6=fd00:89::7", "--mac-address", "92:d0:c6:0a:29:33", "--impair", "delay=40ms,loss=1%", "sh"],
    ]

    @Test(arguments: accepted)
    func agreesWithArgumentParser(arguments: [String]) throws {
        let fast = try #require(RunOptions.fast(arguments))
        let slow = try RunCommand.parse(arguments)
        #expect(fast == slow.options)
    }

    @Test(arguments: accepted)
    func optionsRoundTripThroughTheirCommandLine(arguments: [String]) throws {
        let options = try #require(RunOptions.fast(arguments))
        #expect(RunOptions.fast(options.arguments) == options)
        #expect(try RunCommand.parse(options.arguments).options == options)
    }

    static let declined: [[String]] = [
        ["--help"], ["-h"], ["--rootfs", "r"], ["--rootfs", "r", "--"], ["--", "true"],
        ["true"], ["--rootfs", "r", "--bogus", "x", "--", "true"], ["--rootfs", "r", "--hostname"],
        ["--rootfs", "r", "--hostname", "-x", "--", "true"], ["--rootfs", "r", "-qx", "--", "true"],
    ]

    @Test(arguments: declined)
    func leavesTheRestToArgumentParser(arguments: [String]) {
        #expect(RunOptions.fast(arguments) == nil)
    }
}
