import Foundation
import Testing
@testable import ContainLab
import ContainNetwork

@Suite struct LabGraphTests {
    /// Two nodes on a network (one fixed address, one impaired), one link with addresses, an
    /// MTU and an impairment; the server's address on the network known only to the running lab.
    static func duo() throws -> LabFile {
        LabFile(
            name: "duo",
            networks: [.init(name: "lan", subnet: try IPv4Network(parsing: "10.91.1.0/24"))],
            nodes: [
                .init(name: "client", rootfs: "rootfs",
                      networks: [.init(network: "lan", address: IPv4Address("10.91.1.2"))],
                      routes: [.init(destination: try IPv4Network(parsing: "10.92.0.0/16"), gateway: IPv4Address("10.0.0.2")!)]),
                .init(name: "server", rootfs: "rootfs",
                      networks: [.init(network: "lan", impairment: try Impairment(parsing: "delay=40ms,loss=1%"))]),
            ],
            links: [
                .init(endpoints: [.init(node: "client", interface: "p0", address: IPv4Address("10.0.0.1")),
                                  .init(node: "server", interface: "p0", address: IPv4Address("10.0.0.2"))],
                      subnet: try IPv4Network(parsing: "10.0.0.0/30"), mtu: 1400,
                      impairment: try Impairment(parsing: "delay=20ms,rate=10mbit")),
            ])
    }

    static let duoGolden = #"""
        graph "duo" {
          graph [layout=neato, overlap=scale, sep="+12", splines=true, forcelabels=true, pad=0.3, bgcolor=white, fontname="Helvetica,Arial,sans-serif", fontsize=14, labelloc=t, label=<<b>lab duo</b>>];
          node [fontname="Helvetica,Arial,sans-serif", fontsize=11];
          edge [fontname="Helvetica,Arial,sans-serif", fontsize=9, fontcolor="#333333", labelfontsize=9, labelfontcolor="#333333", color="#7f8c8d"];

          "net_lan" [shape=ellipse, style="filled", fillcolor="#fdebd0", color="#e67e22", label=<<b>lan</b><br/><font point-size="9">10.91.1.0/24</font>>];

          "node_client" [shape=box, style="rounded,filled", fillcolor="#d6eaf8", color="#2e86c1", label=<<b>client</b><br/><font point-size="8" color="#566573">duo-client</font><br/><font point-size="8" color="#566573">10.92.0.0/16 via 10.0.0.2</font>>];
          "node_server" [shape=box, style="rounded,filled", fillcolor="#d6eaf8", color="#2e86c1", label=<<b>server</b><br/><font point-size="8" color="#566573">duo-server</font>>];

          "node_client" -- "net_lan" [len=2.60, xlabel=<<table border="0" cellspacing="0" cellpadding="5"><tr><td>eth0<br/>10.91.1.2/24</td></tr></table>>];
          "node_server" -- "net_lan" [len=2.13, xlabel=<<table border="0" cellspacing="0" cellpadding="5"><tr><td>eth0<br/>10.91.1.3/24<br/><font point-size="9" color="#c0392b">delay 40ms loss 1%</font></td></tr></table>>, color="#c0392b", penwidth=1.6];

          "node_client" -- "node_server" [len=3.52, color="#c0392b", penwidth=2.2, labelangle=0, labeldistance=3.4, taillabel=<<table border="0" cellspacing="0" cellpadding="1" bgcolor="white"><tr><td>p0<br/>10.0.0.1/30</td></tr></table>>, headlabel=<<table border="0" cellspacing="0" cellpadding="1" bgcolor="white"><tr><td>p0<br/>10.0.0.2/30</td></tr></table>>, xlabel=<<table border="0" cellspacing="0" cellpadding="5"><tr><td><font point-size="9" color="#c0392b">delay 20ms rate 10mbit</font><br/>mtu 1400</td></tr></table>>];
        }

        """#

    @Test func smallLabIsDrawnAsTheGoldenText() throws {
        let text = LabGraph.dot(try Self.duo(), addresses: ["server:eth0": "10.91.1.3/24"])
        #expect(text == Self.duoGolden)
    }

    @Test func sameLabSameBytes() throws {
        let addresses = ["server:eth0": "10.91.1.3/24", "client:eth0": "10.91.1.2/24", "server:p0": "10.0.0.2/30"]
        #expect(LabGraph.dot(try Self.duo(), addresses: addresses) == LabGraph.dot(try Self.duo(), addresses: addresses))
    }

    @Test func runningAddressesComeBeforeTheFilesAndFillWhatItLeavesOut() throws {
        let text = LabGraph.dot(try Self.duo(), addresses: ["client:eth0": "10.91.1.9/24", "server:eth0": "10.91.1.3/24"])
        #expect(text.contains("eth0<br/>10.91.1.9/24"))
        #expect(!text.contains("10.91.1.2/24"))
        #expect(text.contains("eth0<br/>10.91.1.3/24"))
        // Several addresses of one interface, one a line.
        #expect(LabGraph.dot(try Self.duo(), addresses: ["client:p0": "10.0.0.1/30, 10.0.0.5/30"])
            .contains("<td>p0<br/>10.0.0.1/30<br/>10.0.0.5/30</td>"))
        // Without them, an interface the file gives no address is named alone.
        #expect(LabGraph.dot(try Self.duo()).contains("<td>eth0<br/><font point-size=\"9\" color=\"#c0392b\">delay 40ms loss 1%"))
    }

    @Test func interfacesFollowTheOrderOfTheNodesNetworks() throws {
        let lab = LabFile(
            name: "two",
            networks: [.init(name: "a", subnet: try IPv4Network(parsing: "10.1.0.0/24")),
                       .init(name: "b", subnet: try IPv4Network(parsing: "10.2.0.0/24"), internal: true, mtu: 9000)],
            nodes: [.init(name: "router", rootfs: "r",
                          networks: [.init(network: "b", address: IPv4Address("10.2.0.254")),
                                     .init(network: "a", address: IPv4Address("10.1.0.254"))])])
        let text = LabGraph.dot(lab)
        #expect(text.contains(#""node_router" -- "net_b" ["#))
        #expect(text.contains(#"<tr><td>eth0<br/>10.2.0.254/24</td></tr>"#))
        #expect(text.contains(#""node_router" -- "net_a" ["#))
        #expect(text.contains(#"<tr><td>eth1<br/>10.1.0.254/24</td></tr>"#))
        #expect(text.range(of: #"-- "net_b""#)!.lowerBound < text.range(of: #"-- "net_a""#)!.lowerBound)
        // An internal network is dashed and says so; its MTU is shown.
        #expect(text.contains(#""net_b" [shape=ellipse, style="filled,dashed""#))
        #expect(text.contains("10.2.0.0/24</font><br/><font point-size=\"9\">mtu 9000</font><br/><font point-size=\"9\">internal</font>"))
    }

    @Test func everyNodeAndNetworkIsNamedWithAStableID() throws {
        let lab = try Self.duo()
        let text = LabGraph.dot(lab)
        for node in lab.nodes {
            #expect(text.contains("\"node_\(node.name)\" [shape=box"))
            #expect(text.contains("<b>\(node.name)</b>"))
        }
        for network in lab.networks {
            #expect(text.contains("\"net_\(network.name)\" [shape=ellipse"))
            #expect(text.contains("<b>\(network.name)</b>"))
        }
        let attachments = lab.nodes.reduce(0) { $0 + $1.networks.count }
        #expect(text.components(separatedBy: " -- \"net_").count - 1 == attachments)
        #expect(text.components(separatedBy: " -- \"node_").count - 1 == lab.links.count)
    }

    @Test func lengthsAreWrittenTheSameEverywhere() {
        #expect(LabGraph.hundredths(2) == "2.00")
        #expect(LabGraph.hundredths(0.05) == "0.05")
        #expect(LabGraph.hundredths(3.517) == "3.52")
        #expect(LabGraph.tenths(3.44) == "3.4")
        #expect(LabGraph.inches(144) == "2.00")
    }

    @Test func edgesGrowWithTheBoxesTheyJoin() throws {
        func length(_ text: String, _ edge: String) -> Double? {
            guard let line = text.split(separator: "\n").first(where: { $0.contains(edge) }),
                  let start = line.range(of: "len=") else { return nil }
            return Double(line[start.upperBound...].prefix { $0 != "," })
        }
        let plain = LabGraph.dot(try Self.duo())
        var wide = try Self.duo()
        wide.nodes[1].routes = [.init(destination: nil, gateway: IPv4Address("10.91.1.254")!),
                                .init(destination: try IPv4Network(parsing: "192.168.100.0/24"), gateway: IPv4Address("10.0.0.1")!)]
        let wider = LabGraph.dot(wide)
        let attachment = #""node_server" -- "net_lan""#, link = #""node_client" -- "node_server""#
        #expect(try #require(length(wider, attachment)) > #require(length(plain, attachment)))
        #expect(try #require(length(wider, link)) > #require(length(plain, link)))
    }

    @Test func quotedStringsEscapeQuotesBackslashesAndNewlines() {
        #expect(LabGraph.quoted(#"plain"#) == #""plain""#)
        #expect(LabGraph.quoted("a\"b\\c\nd") == #""a\"b\\c\nd""#)
        #expect(LabGraph.quoted("ends in \\") == #""ends in \\""#)
    }

    @Test func labelsEscapeMarkup() {
        #expect(LabGraph.html("<b>&\"'") == "&lt;b&gt;&amp;&quot;&#39;")
        #expect(LabGraph.html("two\nlines") == "two<br/>lines")
        #expect(LabGraph.html("back\\slash\u{1}") == "back\\slash")
    }

    static func oddLab() -> LabFile {
        LabFile(name: #"odd "lab" \ 1"#,
                networks: [.init(name: "a&b")],
                nodes: [.init(name: #"x<y>"z"#, rootfs: "r", networks: [.init(network: "a&b")]),
                        .init(name: #"back\slash"#, rootfs: "r")],
                links: [.init(endpoints: [.init(node: #"x<y>"z"#, interface: "p<0>"), .init(node: #"back\slash"#, interface: "p0")])])
    }

    @Test func oddNamesStayInsideTheirStrings() {
        let text = LabGraph.dot(Self.oddLab())
        #expect(text.hasPrefix(#"graph "odd \"lab\" \\ 1" {"#))
        #expect(text.contains(#"label=<<b>lab odd &quot;lab&quot; \ 1</b>>"#))
        #expect(text.contains(#""node_x<y>\"z" [shape=box"#))
        #expect(text.contains("<b>x&lt;y&gt;&quot;z</b>"))
        #expect(text.contains(#""node_back\\slash" [shape=box"#))
        #expect(text.contains(#""net_a&b" [shape=ellipse"#))
        #expect(text.contains("<b>a&amp;b</b>"))
        #expect(text.contains("<td>p&lt;0&gt;</td>"))
        // Every statement is one line: no name's newline or quote can end one early.
        for line in text.split(separator: "\n") where !line.isEmpty {
            #expect(line.hasSuffix("{") || line.hasSuffix("];") || line == "}")
        }
    }

    // MARK: - Rendering

    static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("labgraph-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    static func contents(of directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }

    @Test func dotFileIsTheTextAndNothingIsLeftBeside() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let text = LabGraph.dot(try Self.duo())
        let path = directory.appendingPathComponent("duo.dot").path
        try LabGraph.render(text, to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == text)
        // Written again over the old one; .gv is Graphviz's own name for it.
        try LabGraph.render("graph {}\n", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "graph {}\n")
        try LabGraph.render(text, to: directory.appendingPathComponent("duo.GV").path)
        #expect(try Self.contents(of: directory) == ["duo.GV", "duo.dot"])
    }

    @Test(arguments: ["lab.jpg", "lab", "lab.svg.bak", "dir.svg/lab"])
    func unknownExtensionIsRefused(name: String) throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent(name).path
        let error = #expect(throws: LabError.self) { try LabGraph.render("graph {}\n", to: path) }
        #expect(error?.description == "cannot draw the lab as `\(path)`: give a file ending in .svg, .png or .dot")
        #expect(try Self.contents(of: directory) == [])
    }

    @Test func withoutGraphvizOnlyTheDotFileIsWritten() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for name in ["lab.svg", "lab.png"] {
            let error = #expect(throws: LabError.self) {
                try LabGraph.render("graph {}\n", to: directory.appendingPathComponent(name).path, program: nil, timeLimit: 1000)
            }
            #expect(error?.description == "lab graph needs Graphviz's dot program (Debian: apt-get install graphviz);"
                + " -o FILE.dot writes the graph without it")
        }
        try LabGraph.render("graph {}\n", to: directory.appendingPathComponent("lab.dot").path, program: nil, timeLimit: 1000)
        #expect(try Self.contents(of: directory) == ["lab.dot"])
    }

    @Test func unwritablePlaceIsOneLine() {
        for name in ["lab.dot", "lab.svg"] {
            let path = "/nonexistent-labgraph-dir/\(name)"
            let error = #expect(throws: LabError.self) {
                try LabGraph.render("graph {}\n", to: path, program: "/bin/true", timeLimit: 1000)
            }
            #expect(error?.description == "write `\(path)`: No such file or directory")
        }
    }

    /// These run scripts in place of dot; one at a time, so no script is still open for writing
    /// in another test's child when one is run (ETXTBSY).
    @Suite(.serialized) struct FailingDot {
        static func script(_ body: String, in directory: URL) throws -> String {
            let path = directory.appendingPathComponent("fake-dot").path
            try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: false, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
            return path
        }

        @Test func itsFirstLineIsTheError() throws {
            let directory = try LabGraphTests.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let program = try Self.script(#"echo >&2; echo "Error: $2: syntax error in line 1 near 'x'" >&2; echo more >&2; exit 1"#,
                                          in: directory)
            let path = directory.appendingPathComponent("lab.svg").path
            let error = #expect(throws: LabError.self) {
                try LabGraph.render("graph {}\n", to: path, program: program, timeLimit: 10_000)
            }
            #expect(error?.description == "dot -Tsvg failed: syntax error in line 1 near 'x'")
            #expect(try LabGraphTests.contents(of: directory) == ["fake-dot"])
        }

        @Test func itsExitStatusWhenItSaysNothing() throws {
            let directory = try LabGraphTests.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let program = try Self.script("echo partial; exit 3", in: directory)
            let error = #expect(throws: LabError.self) {
                try LabGraph.render("graph {}\n", to: directory.appendingPathComponent("lab.png").path, program: program, timeLimit: 10_000)
            }
            #expect(error?.description == "dot -Tpng failed with exit status 3")
            #expect(try LabGraphTests.contents(of: directory) == ["fake-dot"])
        }

        @Test func itIsKilledPastTheTimeLimit() throws {
            let directory = try LabGraphTests.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let program = try Self.script("exec sleep 30", in: directory)
            let start = Date()
            let error = #expect(throws: LabError.self) {
                try LabGraph.render("graph {}\n", to: directory.appendingPathComponent("lab.svg").path, program: program, timeLimit: 200)
            }
            #expect(error?.description == "dot -Tsvg did not finish within 200 ms and was killed")
            #expect(Date().timeIntervalSince(start) < 10)
            #expect(try LabGraphTests.contents(of: directory) == ["fake-dot"])
        }

        @Test func itGetsTheTextAsAFileAndNoStandardInput() throws {
            let directory = try LabGraphTests.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            // Echoes its arguments, its input file and whatever stdin holds (nothing: /dev/null).
            let program = try Self.script(#"echo "$0 $1"; cat "$2"; cat"#, in: directory)
            let path = directory.appendingPathComponent("lab.svg").path
            try LabGraph.render("graph { a }\n", to: path, program: program, timeLimit: 10_000)
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "\(program) -Tsvg\ngraph { a }\n")
            #expect(try LabGraphTests.contents(of: directory) == ["fake-dot", "lab.svg"])
        }
    }

    static let graphviz = FileManager.default.isExecutableFile(atPath: "/usr/bin/dot")

    @Test(.enabled(if: graphviz, "needs Graphviz's dot")) func svgNamesEveryNodeAndNetwork() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let lab = try Self.duo()
        let path = directory.appendingPathComponent("duo.svg").path
        try LabGraph.render(LabGraph.dot(lab, addresses: ["server:eth0": "10.91.1.3/24"]), to: path)
        let svg = try String(contentsOfFile: path, encoding: .utf8)
        #expect(svg.contains("<svg"))
        for name in lab.nodes.map(\.name) + lab.networks.map(\.name) + ["10.91.1.3/24", "delay 20ms rate 10mbit"] {
            #expect(svg.contains(">\(name)</text>"), "\(name) is not in the SVG")
        }
        // Graphviz writes every "-" in SVG text as "&#45;": a reader of the SVG decodes it.
        #expect(svg.contains(">duo&#45;client</text>"))
        #expect(try Self.contents(of: directory) == ["duo.svg"])
    }

    @Test(.enabled(if: graphviz, "needs Graphviz's dot")) func pngIsAPNG() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("duo.png").path
        try LabGraph.render(LabGraph.dot(try Self.duo()), to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(bytes.prefix(8) == Data([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
        #expect(try Self.contents(of: directory) == ["duo.png"])
    }

    @Test(.enabled(if: graphviz, "needs Graphviz's dot")) func graphvizTakesOddNames() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("odd.svg").path
        try LabGraph.render(LabGraph.dot(Self.oddLab()), to: path)
        let svg = try String(contentsOfFile: path, encoding: .utf8)
        #expect(svg.contains(">x&lt;y&gt;&quot;z</text>"))
        #expect(svg.contains(">back\\slash</text>"))
        #expect(svg.contains(">a&amp;b</text>"))
    }

    @Test(.enabled(if: graphviz, "needs Graphviz's dot")) func graphvizRefusalIsItsFirstLine() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = #expect(throws: LabError.self) {
            try LabGraph.render("graph { a -- }\n", to: directory.appendingPathComponent("bad.svg").path)
        }
        let message = error?.description ?? ""
        #expect(message.hasPrefix("dot -Tsvg failed: syntax error in line 1"), "\(message)")
        #expect(!message.contains("\n"))
        #expect(try Self.contents(of: directory) == [])
    }
}
