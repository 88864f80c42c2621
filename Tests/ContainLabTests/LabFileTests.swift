import Foundation
import Testing
@testable import ContainLab
import ContainNetwork

/// Lab files: the examples parse, bad files are refused in one line naming the place, and the
/// plan is a pure function of the file (golden).
@Suite struct LabFileTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples").path

    static func example(_ name: String) throws -> LabFile {
        let path = examples + "/" + name
        return try LabFile.parse(String(contentsOfFile: path, encoding: .utf8), file: path)
    }

    static func refusal(_ text: String, file: String = "lab.yaml") -> String {
        do {
            _ = try LabFile.parse(text, file: file)
            return "(accepted)"
        } catch {
            return error.description
        }
    }

    @Test func everyExampleParses() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.examples).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(names == ["router.yaml", "triangle.yaml", "web.yaml"])
        for name in names { _ = try Self.example(name) }
        let router = try Self.example("router.yaml")
        #expect(router.name == "router" && router.nodes.map(\.name) == ["client", "router", "server"])
        #expect(router.needsNetem)
        #expect(router.links[0].endpoints.map(\.address) == [IPv4Address("10.91.2.1"), IPv4Address("10.91.2.2")])
        #expect(router.nodes[2].routes == [LabFile.Route(destination: nil, gateway: IPv4Address("10.91.2.1")!)])
        #expect(router.nodes[2].command == ["sh", "-c", "mkdir -p /www && echo 'hello from server' > /www/index.html && exec httpd -f -p 80 -h /www"])
        let web = try Self.example("web.yaml")
        #expect(!web.needsNetem && web.nodes[1].ports == ["8080:80"])
    }

    @Test func theTrianglesPlanIsGolden() throws {
        let plan = LabPlan(try Self.example("triangle.yaml"), directory: "/labs")
        let idle = "'trap '\\''exit 0'\\'' TERM; while :; do sleep 3600 & wait $!; done'"
        #expect(plan.lines == [
            "node r1: contain run -d --name triangle-r1 --hostname r1 --label contain.lab=triangle --label contain.lab.node=r1 --rootfs /labs/../.rootfs/busybox --net none --add-host r2:10.0.12.2 --add-host r3:10.0.13.1 --sysctl net.ipv4.ip_forward=1 --sysctl net.ipv4.conf.all.rp_filter=0 -- sh -c \(idle)",
            "node r2: contain run -d --name triangle-r2 --hostname r2 --label contain.lab=triangle --label contain.lab.node=r2 --rootfs /labs/../.rootfs/busybox --net none --add-host r1:10.0.12.1 --add-host r3:10.0.23.2 --sysctl net.ipv4.ip_forward=1 --sysctl net.ipv4.conf.all.rp_filter=0 -- sh -c \(idle)",
            "node r3: contain run -d --name triangle-r3 --hostname r3 --label contain.lab=triangle --label contain.lab.node=r3 --rootfs /labs/../.rootfs/busybox --net none --add-host r2:10.0.23.1 --add-host r1:10.0.13.2 --sysctl net.ipv4.ip_forward=1 --sysctl net.ipv4.conf.all.rp_filter=0 -- sh -c \(idle)",
            "link r1:eth1 10.0.12.1/30 <-> r2:eth1 10.0.12.2/30",
            "link r2:eth2 10.0.23.1/30 <-> r3:eth1 10.0.23.2/30",
            "link r3:eth2 10.0.13.1/30 <-> r1:eth2 10.0.13.2/30 mtu 1400",
            "route triangle-r1: 10.0.23.0/30 via 10.0.12.2",
            "route triangle-r2: 10.0.13.0/30 via 10.0.23.2",
            "route triangle-r3: 10.0.12.0/30 via 10.0.13.2",
            "exec r1: ping -c 2 -W 5 r2",
            "exec r1: ping -c 2 -W 5 10.0.23.2",
            "exec r2: ping -c 2 -W 5 10.0.13.1",
            "exec r3: ping -c 2 -W 5 10.0.12.1",
        ])
    }

    @Test func theRoutersPlanMakesTheNetworkFirstAndImpairsBothEnds() throws {
        let plan = LabPlan(try Self.example("router.yaml"), directory: "/labs")
        #expect(plan.lines.first == "network lan: contain net create router-lan --subnet 10.91.1.0/24")
        #expect(plan.lines[1].hasPrefix("node client: contain run -d --name router-client --hostname client --label contain.lab=router --label contain.lab.node=client --rootfs /labs/../.rootfs/busybox --net router-lan:ip=10.91.1.10,alias=client -- sh -c "))
        #expect(plan.lines.contains("impair router-router:eth1 egress: delay 20ms loss 1% rate 10mbit"))
        #expect(plan.lines.contains("impair router-server:eth0 egress: delay 20ms loss 1% rate 10mbit"))
        #expect(plan.lines.contains("route router-server: default via 10.91.2.1"))
        // Without netem, the rate alone stays.
        let rateOnly = LabRunner.withoutNetem(try Self.example("router.yaml"))
        #expect(rateOnly.links[0].impairment?.description == "rate 10mbit" && !rateOnly.needsNetem)
    }

    @Test func theLabsNameComesFromTheFileWhenItHasNone() throws {
        let lab = try LabFile.parse("nodes:\n  a: {rootfs: /r}\n", file: "/x/my-lab.yml")
        #expect(lab.name == "my-lab" && lab.nodes[0].command.isEmpty)
        #expect(LabPlan(lab, directory: "/x").lines == [
            "node a: contain run -d --name my-lab-a --hostname a --label contain.lab=my-lab --label contain.lab.node=a --rootfs /r --net none -- sh -c 'trap '\\''exit 0'\\'' TERM; while :; do sleep 3600 & wait $!; done'",
        ])
    }

    @Test(arguments: [
        ("nodes:\n  a: {rootfs: /r}\n  b: [\n", "lab.yaml:4:1: invalid YAML:"),
        ("nodes:\n  a:\n    rootfs: /r\n    comand: true\n", "lab.yaml:4:5: unknown key `comand` in node `a` (did you mean `command`?)"),
        ("nodes:\n  a: {rootfs: /r}\nlinks:\n  - endpoints: [a:eth1, b:eth1]\n", "lab.yaml:4:5: link endpoint `b:eth1` names node `b`, which the file does not define (nodes: a)"),
        ("nodes:\n  a:\n    rootfs: /r\n    networks: [lam]\nnetworks:\n  lan: {}\n", "lab.yaml:2:3: node `a` joins network `lam`, which the file does not define (did you mean `lan`?)"),
        ("nodes:\n  a: {rootfs: /r}\n  a: {rootfs: /s}\n", "lab.yaml:3:3: "),
        ("networks:\n  one: {subnet: 10.0.0.0/16}\nnodes:\n  a: {rootfs: /r}\n  b: {rootfs: /r}\nlinks:\n  - endpoints: [a:e1, b:e1]\n    subnet: 10.0.12.0/30\n", "the subnets of network `one` (10.0.0.0/16) and link a:e1 — b:e1 (10.0.12.0/30) overlap"),
        ("nodes:\n  a: {rootfs: /r}\n  b: {rootfs: /r}\nlinks:\n  - endpoints: [a:e1, b:e1]\n    subnet: 10.0.12.0/30\n    addresses: [10.0.12.1, 10.0.13.2]\n", "address 10.0.13.2 of b:e1 is outside link a:e1 — b:e1's subnet 10.0.12.0/30"),
        ("nodes:\n  a: {rootfs: /r}\n  b: {rootfs: /r}\nlinks:\n  - endpoints: [a:e1, b:e1]\n    subnet: 10.0.12.0/30\n    addresses: [10.0.12.1, 10.0.12.3]\n", "is 10.0.12.0/30's broadcast address"),
        ("nodes:\n  a: {command: sh}\n", "lab.yaml:2:3: node `a` needs a `rootfs`"),
        ("nodes:\n  a: {rootfs: /r, networks: {lan: {ip: 10.9.9.9}}}\nnetworks:\n  lan: {subnet: 10.1.0.0/24}\n", "node `a`'s address 10.9.9.9 is outside network `lan`'s subnet 10.1.0.0/24"),
        ("nodes:\n  a: {rootfs: /r, routes: [10.5.0.0/16 via 10.6.0.1]}\n  b: {rootfs: /r}\nlinks:\n  - {endpoints: [a:e1, b:e1], subnet: 10.0.12.0/30}\n", "node `a`'s route to 10.5.0.0/16 goes via 10.6.0.1, which is on none of its subnets (10.0.12.0/30)"),
        ("nodes:\n  a: {rootfs: /r}\n  b: {rootfs: /r}\nlinks:\n  - {endpoints: [a:e1, b:e1], impair: {delay: 20ms, loss: 120%}}\n", "the impairment of link a:e1 — b:e1:"),
        ("nodes:\n  bad_name: {rootfs: /r}\n", "lab.yaml:2:3: invalid node name `bad_name`"),
        ("", "lab.yaml: the file is empty: a lab needs at least one node"),
        ("nodes: [a, b]\n", "lab.yaml:1:8: nodes must be a mapping"),
        ("nodes:\n  a: {rootfs: /r}\n  b: {rootfs: /r}\nlinks:\n  - {endpoints: [a:e1, a:e2]}\n", "a link joins two nodes"),
    ])
    func badFilesAreRefusedInOneLine(text: String, expected: String) {
        let message = Self.refusal(text)
        #expect(message.contains(expected), "\(message)")
        #expect(!message.contains("\n"), "\(message)")
    }
}
