import Foundation
import Testing

/// `contain lab`, end to end in throwaway namespaces: the three examples come up, pass their
/// checks and go down leaving nothing; `up` twice is a no-op; bad files are refused before
/// anything is made; `down` after `kill -9` of `up` leaves nothing.
@Suite(.enabled(if: Harness.enabled)) struct LabTests {
    /// The examples, copied beside a `.rootfs/busybox` that is the test rootfs (their files
    /// name `../.rootfs/busybox`), in a directory removed at the end.
    final class Workspace {
        let directory: String
        init() throws {
            directory = NSTemporaryDirectory() + "contain-lab-" + String(UInt32.random(in: 0..<UInt32.max), radix: 16)
            let fm = FileManager.default
            try fm.createDirectory(atPath: directory + "/.rootfs", withIntermediateDirectories: true)
            try fm.createSymbolicLink(atPath: directory + "/.rootfs/busybox", withDestinationPath: Harness.rootfs)
            try fm.copyItem(atPath: Harness.packageRoot + "/examples", toPath: directory + "/examples")
        }
        func example(_ name: String) -> String { directory + "/examples/" + name }
        func write(_ name: String, _ text: String) throws -> String {
            let path = directory + "/examples/" + name
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        deinit { try? FileManager.default.removeItem(atPath: directory) }
    }

    static func start(_ lab: NetworkLab, _ arguments: [String]) throws -> Running {
        // The nodes' cgroups go under the sandbox's parent, as the README test's do.
        try Running(arguments: ["--net=/run/netns/" + lab.host, Harness.binary] + lab.sandbox.commonArguments + arguments,
                    stdin: nil, executable: NetworkLab.nsenter, environment: ["CONTAIN_CGROUP_PARENT": lab.sandbox.cgroupParent])
    }

    static func contain(_ lab: NetworkLab, _ arguments: [String], timeout: Double = 120) throws -> RunResult {
        try start(lab, arguments).wait(timeout: timeout)
    }

    /// Nothing of any lab left: containers, networks but the default, bridges, veths, leases,
    /// records.
    static func expectGone(_ lab: NetworkLab, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let ps = try contain(lab, ["ps", "-aq"])
        #expect(ps.status == 0 && ps.stdout.isEmpty, "containers left: \(ps)", sourceLocation: sourceLocation)
        let networks = try contain(lab, ["net", "ls"])
        #expect(networks.stdout.split(separator: "\n").count <= 2 && !networks.stdout.contains("-lan") && !networks.stdout.contains("web-"),
                "networks left: \(networks.stdout)", sourceLocation: sourceLocation)
        let labs = (try? FileManager.default.contentsOfDirectory(atPath: lab.sandbox.stateRoot + "/labs")) ?? []
        #expect(labs.isEmpty, "lab records left: \(labs)", sourceLocation: sourceLocation)
        let links = try lab.ip(["-o", "link", "show"])
        #expect(!links.contains("ct-"), "bridges left: \(links)", sourceLocation: sourceLocation)
        try lab.expectClean(sourceLocation: sourceLocation)
    }

    /// Three routers, point-to-point links, static routes: the file's pings pass, traceroute
    /// shows the hops, `up` again changes nothing, ls/inspect/graph show it, down leaves nothing.
    @Test func triangleComesUpRoutesThroughANeighbourAndGoesDown() throws {
        let lab = try NetworkLab()
        let work = try Workspace()
        let up = try Self.contain(lab, ["lab", "up", work.example("triangle.yaml")])
        #expect(up.status == 0, "\(up)")
        for node in ["r1", "r2", "r3"] {
            #expect(up.stdout.contains("\n\(node)     triangle-\(node)   running   "), "\(up.stdout)")
            #expect(up.stderr.contains("node \(node) started"), "\(up.stderr)")
        }
        #expect(up.stdout.contains("eth1 10.0.12.1/30, eth2 10.0.13.2/30"), "\(up.stdout)")
        #expect(up.stderr.contains("r1: ping -c 2 -W 5 10.0.23.2"), "\(up.stderr)")
        let trace = try Self.contain(lab, ["lab", "exec", "triangle", "r1", "--", "traceroute", "-n", "-q", "1", "-w", "2", "10.0.23.2"])
        let hops = trace.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: " ").prefix(2).joined(separator: " ") }
        #expect(trace.status == 0 && hops == ["1 10.0.12.2", "2 10.0.23.2"], "\(trace)")
        let ids = try Self.contain(lab, ["ps", "-q"]).stdout
        // Again: everything is up, so nothing is made and no check runs.
        let again = try Self.contain(lab, ["lab", "up", work.example("triangle.yaml")])
        #expect(again.status == 0 && !again.stderr.contains("started") && !again.stderr.contains("ping"), "\(again)")
        #expect(try Self.contain(lab, ["ps", "-q"]).stdout == ids)
        let listed = try Self.contain(lab, ["lab", "ls", "--json"])
        #expect(listed.stdout.contains("\"name\":\"triangle\",\"state\":\"running\",\"nodes\":3,\"running\":3,\"links\":3"), "\(listed)")
        let inspected = try Self.contain(lab, ["lab", "inspect", "triangle", "--json"])
        #expect(inspected.stdout.contains("{\"endpoints\":[\"r3:eth2\",\"r1:eth2\"],\"addresses\":[\"10.0.13.1/30\",\"10.0.13.2/30\"],\"mtu\":1400"), "\(inspected)")
        let ps = try Self.contain(lab, ["ps", "--filter", "label=contain.lab=triangle", "--format", "{{.Names}}"])
        #expect(ps.stdout.split(separator: "\n").sorted() == ["triangle-r1", "triangle-r2", "triangle-r3"], "\(ps)")
        // The drawing: an SVG naming every node, a PNG that is one.
        let svg = work.directory + "/triangle.svg", png = work.directory + "/triangle.png"
        #expect(try Self.contain(lab, ["lab", "graph", "triangle", "-o", svg]).status == 0)
        let drawing = (try? String(contentsOfFile: svg, encoding: .utf8)) ?? ""
        #expect(drawing.hasPrefix("<?xml") && ["r1", "r2", "r3", "10.0.12.1"].allSatisfy { drawing.contains(">\($0)") || drawing.contains($0) }, "\(drawing.prefix(300))")
        #expect(try Self.contain(lab, ["lab", "graph", "triangle", "-o", png]).status == 0)
        let signature = (FileManager.default.contents(atPath: png) ?? Data()).prefix(8)
        #expect(Array(signature) == [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
        let down = try Self.contain(lab, ["lab", "down", "triangle"])
        #expect(down.status == 0, "\(down)")
        try Self.expectGone(lab)
    }

    /// Client, router, server: the client reaches the server only through the router
    /// (traceroute), over the slow lossy link, whose delay shows in the round trip where the
    /// kernel has netem; where it has not, the file is refused with nothing made, and
    /// --no-netem brings it up with the rate alone.
    @Test func routerExampleGoesThroughTheRouterOverTheSlowLink() throws {
        let lab = try NetworkLab()
        let work = try Workspace()
        let netem = FileManager.default.fileExists(atPath: "/sys/module/sch_netem")
        var arguments = ["lab", "up", work.example("router.yaml")]
        if !netem {
            let refused = try Self.contain(lab, arguments)
            #expect(refused.status == 125 && refused.stderr.contains("need netem") && refused.stderr.split(separator: "\n").count == 1, "\(refused)")
            try Self.expectGone(lab)
            arguments.append("--no-netem")
        }
        let up = try Self.contain(lab, arguments, timeout: 180)
        #expect(up.status == 0 && up.stdout.contains("hello from server"), "\(up)")
        let trace = try Self.contain(lab, ["lab", "exec", "router", "client", "--", "traceroute", "-n", "-q", "1", "-w", "3", "10.91.2.2"])
        let hops = trace.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: " ").prefix(2).joined(separator: " ") }
        #expect(hops == ["1 10.91.1.2", "2 10.91.2.2"], "\(trace)")
        let ping = try Self.contain(lab, ["lab", "exec", "router", "client", "--", "ping", "-c", "10", "-i", "0.2", "-q", "10.91.2.2"])
        let average = ping.stdout.split(separator: "\n").first { $0.contains("min/avg/max") }
            .flatMap { $0.split(separator: "=").last?.split(separator: "/").dropFirst().first }
            .flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        if netem {
            // 20 ms each way on the link: 40 ms more than a bridge's fraction of one.
            #expect(average.map { $0 > 38 && $0 < 60 } == true, "\(ping)")
        } else {
            #expect(average.map { $0 < 20 } == true, "\(ping)")
        }
        let inspected = try Self.contain(lab, ["lab", "inspect", "router"])
        #expect(inspected.stdout.contains(netem ? "delay 20ms loss 1% rate 10mbit" : "rate 10mbit"), "\(inspected)")
        #expect(try Self.contain(lab, ["lab", "down", work.example("router.yaml")]).status == 0)
        try Self.expectGone(lab)
    }

    /// Web server, proxy, client: the client's check passes through the proxy, and the host
    /// reaches the web server through the proxy's published port.
    @Test func webExampleServesThroughTheProxysPublishedPort() throws {
        let lab = try NetworkLab()
        let work = try Workspace()
        let up = try Self.contain(lab, ["lab", "up", work.example("web.yaml")])
        #expect(up.status == 0 && up.stdout.contains("hello from web"), "\(up)")
        #expect(up.stdout.contains("web-proxy") && up.stdout.contains("eth0 10.93.0."), "\(up.stdout)")
        let page = try lab.fetch("http://\(NetworkLab.hostAddress):8080/", from: lab.upstream)
        #expect(page.trimmingCharacters(in: .whitespacesAndNewlines) == "hello from web")
        let resolved = try Self.contain(lab, ["lab", "exec", "web", "client", "--", "nslookup", "web"])
        #expect(resolved.stdout.contains("10.93.0."), "\(resolved)")
        #expect(try Self.contain(lab, ["lab", "down", "web"]).status == 0)
        try Self.expectGone(lab)
    }

    /// One line, exit 125, nothing made, for each.
    @Test func badFilesAreRefusedBeforeAnythingIsMade() throws {
        let lab = try NetworkLab()
        let work = try Workspace()
        let cases: [(String, String, String)] = [
            ("missing-rootfs.yaml", "nodes:\n  a: {rootfs: ../no/such/rootfs}\n", "node `a`: rootfs ../no/such/rootfs does not exist"),
            ("typo.yaml", "nodes:\n  a:\n    rootfs: ../.rootfs/busybox\n    netwroks: [x]\n", "typo.yaml:4:5: unknown key `netwroks` in node `a` (did you mean `networks`?)"),
            ("twice.yaml", "nodes:\n  a: {rootfs: ../.rootfs/busybox}\n  a: {rootfs: ../.rootfs/busybox}\n", "twice.yaml:3:3:"),
            ("broken.yaml", "nodes:\n  a: {rootfs: ../.rootfs/busybox\n", "broken.yaml:3:1: invalid YAML:"),
            ("overlap.yaml", "networks:\n  one: {subnet: 10.88.0.0/16}\nnodes:\n  a: {rootfs: ../.rootfs/busybox, networks: [one]}\n", "overlaps network contain's 10.88.0.0/24"),
        ]
        // The default network exists (overlap with the machine's networks is checked too).
        #expect(try lab.run(["--net", "bridge"], ["true"]).status == 0)
        for (name, text, words) in cases {
            let r = try Self.contain(lab, ["lab", "up", try work.write(name, text)])
            #expect(r.status == 125 && r.stderr.split(separator: "\n").count == 1 && r.stderr.contains(words), "\(name): \(r)")
        }
        let missing = try Self.contain(lab, ["lab", "down", "nosuchlab"])
        #expect(missing.status == 125 && missing.stderr.contains("no such lab: nosuchlab"), "\(missing)")
        try Self.expectGone(lab)
    }

    /// `kill -9` of `up` while it is making nodes, then `down`: nothing left.
    @Test func downAfterAKilledUpLeavesNothing() throws {
        let lab = try NetworkLab()
        let work = try Workspace()
        for moment in ["node r1 started", "node r3 started"] {
            let up = try Self.start(lab, ["lab", "up", work.example("triangle.yaml")])
            #expect(eventually(timeout: 60) { up.stderrSoFar.contains(moment) }, "\(up.stderrSoFar)")
            up.signal(SIGKILL)
            _ = try up.wait()
            // A `run -d` it had begun may still be finishing: it holds the lab's lock, which
            // down waits for.
            let down = try Self.contain(lab, ["lab", "down", "triangle"])
            #expect(down.status == 0, "after kill at \(moment): \(down)")
            try Self.expectGone(lab)
        }
    }
}
