import Foundation
import Testing

/// A throwaway network namespace that plays the host, and a second one that plays the upstream
/// network, joined by a veth on 198.51.100.0/24 and 2001:db8:1::/64 (documentation ranges):
///
///     [container]--contain0--[ host ns: up0 198.51.100.1 ]--veth--[ upstream ns: eth0 198.51.100.2 ]
///
/// contain runs in the host namespace through `nsenter --net=` (not `ip netns exec`, which
/// remounts /sys and would hide the cgroup hierarchies). Nothing here touches the machine's own
/// interfaces, routes or firewall; deleting the namespaces takes every bridge, veth and nft
/// table the test made with them.
final class NetworkLab {
    static let hostAddress = "198.51.100.1"
    static let upstreamAddress = "198.51.100.2"
    /// The same link's IPv6 addresses, in the documentation prefix.
    static let hostAddress6 = "2001:db8:1::1"
    static let upstreamAddress6 = "2001:db8:1::2"
    static let ipTool = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/ip"
    static let nftTool = ["/usr/sbin/nft", "/sbin/nft"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/nft"
    static let nsenter = "/usr/bin/nsenter"

    let sandbox: Sandbox
    let host: String
    let upstream: String
    private let scratch: String

    init() throws {
        sandbox = try Sandbox()
        let tag = String(UInt32.random(in: 0..<UInt32.max), radix: 16)
        host = "ct-h-" + tag
        upstream = "ct-u-" + tag
        scratch = sandbox.stateRoot + "/lab-output"
        try ip(["netns", "add", host])
        try ip(["netns", "add", upstream])
        // Both ends are born inside the namespaces: no interface ever appears on the machine.
        try ip(["link", "add", "up0", "netns", host, "type", "veth", "peer", "name", "eth0", "netns", upstream])
        try ip(["-n", host, "addr", "add", Self.hostAddress + "/24", "dev", "up0"])
        try ip(["-n", upstream, "addr", "add", Self.upstreamAddress + "/24", "dev", "eth0"])
        // No duplicate address detection: usable at once.
        try ip(["-n", host, "-6", "addr", "add", Self.hostAddress6 + "/64", "dev", "up0", "nodad"])
        try ip(["-n", upstream, "-6", "addr", "add", Self.upstreamAddress6 + "/64", "dev", "eth0", "nodad"])
        for (ns, dev) in [(host, "up0"), (host, "lo"), (upstream, "eth0"), (upstream, "lo")] {
            try ip(["-n", ns, "link", "set", dev, "up"])
        }
    }

    deinit {
        // A name server still running (a failed test) would keep the namespace alive.
        if let pid = nameServerPID(), (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8))?.contains(sandbox.stateRoot) == true {
            kill(pid, SIGKILL)
        }
        _ = try? runTool(Self.ipTool, ["netns", "del", host], output: scratch)
        _ = try? runTool(Self.ipTool, ["netns", "del", upstream], output: scratch)
    }

    @discardableResult
    func ip(_ arguments: [String]) throws -> String {
        let result = try runTool(Self.ipTool, arguments, output: scratch)
        try #require(result.status == 0, "ip \(arguments.joined(separator: " ")): \(result.output)")
        return result.output
    }

    /// A tool run inside the host namespace, e.g. `nft list table inet contain`.
    func inHost(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try runTool(Self.nsenter, ["--net=/run/netns/" + host, tool] + arguments, output: scratch)
    }

    /// `url`'s body, trimmed, fetched by python in `namespace` (5 s time limit).
    func fetch(_ url: String, from namespace: String) throws -> String {
        let script = "import urllib.request; print(urllib.request.urlopen('\(url)', timeout=5).read().decode().strip())"
        return try runTool(Self.nsenter, ["--net=/run/netns/" + namespace, "/usr/bin/python3", "-c", script],
                           output: scratch + "-fetch").output
    }

    /// `contain --root <sandbox> ARGS` in the host namespace.
    func contain(_ arguments: [String], timeout: Double = 60) throws -> RunResult {
        try start(arguments).wait(timeout: timeout)
    }

    func start(_ arguments: [String]) throws -> Running {
        // The global form, `contain --root DIR COMMAND ...`, works for every command.
        try Running(arguments: ["--net=/run/netns/" + host, Harness.binary] + sandbox.commonArguments + arguments,
                           stdin: nil, executable: Self.nsenter)
    }

    /// `contain run` on the test rootfs in the host namespace.
    func run(_ options: [String], _ command: [String], timeout: Double = 60) throws -> RunResult {
        try startRun(options, command).wait(timeout: timeout)
    }

    func startRun(_ options: [String], _ command: [String]) throws -> Running {
        try start(["run", "--rootfs", Harness.rootfs, "--cgroup-parent", sandbox.cgroupParent] + options + ["--"] + command)
    }

    /// A one-connection TCP listener in the upstream namespace that prints the peer's address
    /// and what it received.
    func upstreamListener(port: Int) throws -> Running {
        let script = """
            import socket, sys
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("\(Self.upstreamAddress)", \(port))); s.listen(1)
            print("listening", flush=True)
            s.settimeout(30)
            c, peer = s.accept()
            data = c.recv(100).decode().strip()
            print("peer", peer[0], "said", data, flush=True)
            c.sendall(b"hello from upstream\\n"); c.close()
            """
        let listener = try Running(arguments: ["--net=/run/netns/" + upstream, "/usr/bin/python3", "-c", script],
                                   stdin: nil, executable: Self.nsenter)
        try #require(listener.waitForOutput("listening"), "upstream listener started")
        return listener
    }

    /// veth interfaces in the host namespace other than the lab's own uplink.
    func hostVeths() throws -> [String] {
        try inHost(Self.ipTool, ["-o", "link", "show", "type", "veth"]).output.split(separator: "\n").compactMap { line in
            let name = line.split(separator: ":").dropFirst().first.map { String($0.trimmingCharacters(in: .whitespaces).split(separator: "@")[0]) }
            return name == "up0" ? nil : name
        }
    }

    func leases(network: String = "contain") -> [String] {
        ((try? String(contentsOfFile: sandbox.stateRoot + "/networks/\(network).leases", encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
    }

    /// contain's table as nft lists it ("" when there is none: no network in use).
    func nftTable() throws -> String {
        let listed = try inHost(Self.nftTool, ["list", "table", "inet", "contain"])
        if listed.status != 0 {
            try #require(listed.output.contains("No such file or directory"), "nft list: \(listed.output)")
            return ""
        }
        return listed.output
    }

    /// Whether `pid` runs (a zombie, ended and waiting for its reaper, does not).
    static func isLive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(close, offsetBy: 2)] != "Z"
    }

    /// The pid of the store's name server, while it runs.
    func nameServerPID() -> pid_t? {
        (try? String(contentsOfFile: sandbox.stateRoot + "/networks/nameserver.pid", encoding: .utf8))
            .flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// No veth, no lease, no cgroup, no record, no name server left.
    func expectClean(network: String = "contain", sourceLocation: SourceLocation = #_sourceLocation) throws {
        sandbox.expectClean(sourceLocation: sourceLocation)
        let pid = nameServerPID()
        #expect(eventually(timeout: 10) { pid.map { !Self.isLive($0) } ?? true && nameServerPID() == nil },
                "the name server (pid \(pid ?? 0)) is still running", sourceLocation: sourceLocation)
        #expect(leases(network: network) == [], "leases left behind", sourceLocation: sourceLocation)
        // A veth goes with its namespace, which the kernel tears down asynchronously.
        #expect(eventually(timeout: 10) { (try? hostVeths()) == [] }, "veths left: \((try? hostVeths()) ?? [])",
                sourceLocation: sourceLocation)
    }
}
