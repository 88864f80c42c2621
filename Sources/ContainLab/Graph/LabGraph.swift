import ContainNetwork
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// The lab as a picture: Graphviz's dot language, and Graphviz's `dot` program to turn it into
/// SVG or PNG.
///
/// The drawing: each node a rounded blue box (its name, its container's name small, its routes);
/// each bridged network an orange ellipse (name, subnet, MTU; dashed and marked when internal);
/// a thin grey edge node—network per attachment, labelled beside its middle with the node's
/// interface there and its address; a point-to-point link a heavier dark edge node—node, each
/// end's interface and address written on the line next to its node, the link's impairment and
/// MTU beside its middle. Whatever is impaired is drawn red, with the impairment in red.
///
/// neato lays it out: a lab is a small mesh rather than a hierarchy. neato spaces the centres
/// of boxes and knows nothing of labels, so each edge's length is worked out from the text it
/// has to clear: half of each box's width (estimated from its text) plus room for the labels
/// (overlap=scale then only ever spreads the whole drawing; the default would shrink it until
/// the labels crowd).
public enum LabGraph {
    /// Graphviz's dot language for the lab. `addresses` gives what only the running lab knows, by
    /// "NODE:INTERFACE" (e.g. "client:eth0" -> "10.91.1.2/24"; several comma-separated); the
    /// file's fixed addresses are used where it has none. Same lab, same text: the order is the
    /// file's throughout.
    public static func dot(_ lab: LabFile, addresses: [String: String] = [:]) -> String {
        var out: [String] = []
        out.append("graph \(quoted(lab.name)) {")
        out.append("  graph [layout=neato, overlap=scale, sep=\"+12\", splines=true, forcelabels=true, pad=0.3,"
            + " bgcolor=white, fontname=\"\(font)\", fontsize=14, labelloc=t, label=<<b>lab \(html(lab.name))</b>>];")
        out.append("  node [fontname=\"\(font)\", fontsize=11];")
        out.append("  edge [fontname=\"\(font)\", fontsize=9, fontcolor=\"\(Color.text)\", labelfontsize=9,"
            + " labelfontcolor=\"\(Color.text)\", color=\"\(Color.attachment)\"];")

        // Half of each box's width, in points, by id: what an edge's length must clear.
        var halfWidths: [String: Double] = [:]
        var sections: [[String]] = [[], [], [], []]
        for network in lab.networks {
            let (statement, halfWidth) = networkStatement(network)
            sections[0].append(statement)
            halfWidths[networkID(network.name)] = halfWidth
        }
        for node in lab.nodes {
            let (statement, halfWidth) = nodeStatement(node, container: lab.containerName(node.name))
            sections[1].append(statement)
            halfWidths[nodeID(node.name)] = halfWidth
        }
        for node in lab.nodes {
            for (index, attachment) in node.networks.enumerated() {
                // A node's networks give it eth0, eth1, ... in order.
                let interface = "eth\(index)"
                let subnet = lab.network(named: attachment.network)?.subnet
                let address = addresses["\(node.name):\(interface)"] ?? attachment.address.map { fixed($0, in: subnet) }
                sections[2].append(attachmentStatement(node: node.name, interface: interface, address: address,
                                                       attachment: attachment, halfWidths: halfWidths))
            }
        }
        for link in lab.links where link.endpoints.count == 2 {
            let addresses = link.endpoints.map { end in
                addresses["\(end.node):\(end.interface)"] ?? end.address.map { fixed($0, in: link.subnet) }
            }
            sections[3].append(linkStatement(link, addresses: addresses, halfWidths: halfWidths))
        }
        for section in sections where !section.isEmpty { out += [""] + section }
        out.append("}")
        return out.joined(separator: "\n") + "\n"
    }

    /// A network: an ellipse with its name, subnet and MTU, dashed and marked when internal.
    static func networkStatement(_ network: LabFile.Network) -> (String, halfWidth: Double) {
        var details: [String] = []
        if let subnet = network.subnet { details.append(subnet.description) }
        if let mtu = network.mtu { details.append("mtu \(mtu)") }
        if network.internal { details.append("internal") }
        let label = "<b>\(html(network.name))</b>" + details.map { "<br/>" + small(html($0)) }.joined()
        let style = network.internal ? "filled,dashed" : "filled"
        // An ellipse around a label is about √2 times as wide as the label.
        let text = max(textWidth(network.name, size: 11, bold: true), details.map { textWidth($0, size: 9) }.max() ?? 0)
        return ("  \(quoted(networkID(network.name))) [shape=ellipse, style=\"\(style)\", fillcolor=\"\(Color.networkFill)\","
            + " color=\"\(Color.networkLine)\", label=<\(label)>];", (text * 1.42 + 16) / 2)
    }

    /// A node: a rounded box with its name, and small below it its container and its routes.
    static func nodeStatement(_ node: LabFile.Node, container: String) -> (String, halfWidth: Double) {
        var details = [container]
        for route in node.routes { details.append("\(route.destination?.description ?? "default") via \(route.gateway)") }
        let label = "<b>\(html(node.name))</b>" + details.map { "<br/>" + small(html($0), size: 8, color: Color.secondary) }.joined()
        let text = max(textWidth(node.name, size: 11, bold: true), details.map { textWidth($0, size: 8) }.max() ?? 0)
        return ("  \(quoted(nodeID(node.name))) [shape=box, style=\"rounded,filled\", fillcolor=\"\(Color.nodeFill)\","
            + " color=\"\(Color.nodeLine)\", label=<\(label)>];", (text + 16) / 2)
    }

    /// A node on a network: a thin edge, its interface, address and impairment beside its middle.
    static func attachmentStatement(node: String, interface: String, address: String?, attachment: LabFile.Attachment,
                                    halfWidths: [String: Double]) -> String {
        var lines = [interfaceLabel(interface, address: address)]
        var style = ""
        if let impairment = attachment.impairment {
            lines.append(small(html(impairment.description), color: Color.impaired))
            style = ", color=\"\(Color.impaired)\", penwidth=1.6"
        }
        let (a, b) = (nodeID(node), networkID(attachment.network))
        // The boxes' halves, and an inch of line for the label to sit beside.
        let length = (halfWidths[a] ?? 0) + (halfWidths[b] ?? 0) + 72
        return "  \(quoted(a)) -- \(quoted(b)) [len=\(inches(length)), xlabel=<\(padded(lines))>\(style)];"
    }

    /// A link: a heavier edge, each end's interface and address on the line next to its node, on
    /// a patch of background so it cannot be taken for another edge's; what the link is (its
    /// impairment, its MTU) beside its middle.
    static func linkStatement(_ link: LabFile.Link, addresses: [String?], halfWidths: [String: Double]) -> String {
        let ends = zip(link.endpoints, addresses).map { end, address in
            "<table border=\"0\" cellspacing=\"0\" cellpadding=\"1\" bgcolor=\"white\">"
                + "<tr><td>\(interfaceLabel(end.interface, address: address))</td></tr></table>"
        }
        // An end's label is centred `labeldistance` × 10 points out from its node along the line:
        // far enough that a level line does not run it into the box.
        let labelWidths = zip(link.endpoints, addresses).map { end, address in
            ([end.interface] + addressLines(address)).map { textWidth($0, size: 9) }.max() ?? 0
        }
        let distance = labelWidths.map { $0 / 2 + 6 }.max() ?? 0
        let (a, b) = (nodeID(link.endpoints[0].node), nodeID(link.endpoints[1].node))
        let length = (halfWidths[a] ?? 0) + (halfWidths[b] ?? 0) + 2 * distance + labelWidths.reduce(0, +) / 2 + 36
        var middle: [String] = []
        if let impairment = link.impairment { middle.append(small(html(impairment.description), color: Color.impaired)) }
        if let mtu = link.mtu { middle.append("mtu \(mtu)") }
        let color = link.impairment == nil ? Color.link : Color.impaired
        return "  \(quoted(a)) -- \(quoted(b)) [len=\(inches(length)), color=\"\(color)\", penwidth=2.2,"
            + " labelangle=0, labeldistance=\(tenths(distance / 10)), taillabel=<\(ends[0])>, headlabel=<\(ends[1])>"
            + (middle.isEmpty ? "" : ", xlabel=<\(padded(middle))>") + "];"
    }

    /// Writes `dot` to `path` as the extension asks: .dot (or .gv) as text; .svg and .png through
    /// Graphviz's `dot` program (-Tsvg / -Tpng), found in PATH or /usr/bin/dot. Whatever fails
    /// leaves no file at `path`: the output goes to `PATH.tmp.PID` and is renamed over.
    public static func render(_ dot: String, to path: String) throws(LabError) {
        try render(dot, to: path, program: dotProgram(), timeLimit: timeLimit)
    }

    /// The longest Graphviz may take, in milliseconds: a lab is small, so anything longer is a hang.
    static let timeLimit = 30_000

    static let missingDot = "lab graph needs Graphviz's dot program (Debian: apt-get install graphviz);"
        + " -o FILE.dot writes the graph without it"

    /// `render` with the program (nil: not installed) and the time limit given, for tests.
    static func render(_ dot: String, to path: String, program: String?, timeLimit: Int) throws(LabError) {
        let name = path.split(separator: "/").last ?? ""
        let format = name.contains(".") ? name.split(separator: ".").last.map { $0.lowercased() } : nil
        switch format {
        case "dot", "gv":
            try writeAtomically(path) { fd throws(LabError) in try write(fd, Array(dot.utf8), path: path) }
        case .some(let format) where format == "svg" || format == "png":
            guard let program else { throw LabError(missingDot) }
            try writeAtomically(path) { fd throws(LabError) in
                try run(program, format: format, dot: dot, output: path, stdout: fd, timeLimit: timeLimit)
            }
        default:
            throw LabError("cannot draw the lab as `\(path)`: give a file ending in .svg, .png or .dot")
        }
    }

    // MARK: - The dot language

    static let font = "Helvetica,Arial,sans-serif"

    enum Color {
        static let text = "#333333"
        static let secondary = "#566573"
        static let nodeFill = "#d6eaf8"
        static let nodeLine = "#2e86c1"
        static let networkFill = "#fdebd0"
        static let networkLine = "#e67e22"
        static let attachment = "#7f8c8d"
        static let link = "#34495e"
        static let impaired = "#c0392b"
    }

    static func nodeID(_ name: String) -> String { "node_\(name)" }
    static func networkID(_ name: String) -> String { "net_\(name)" }

    /// A quoted dot string: inside quotes, only a backslash and a quote need escaping; a newline
    /// is written as `\n`, so each statement stays on one line.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for character in text.unicodeScalars {
            switch character {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            default: result.unicodeScalars.append(character)
            }
        }
        return result + "\""
    }

    /// Text for an HTML-like label: the XML specials as entities, a newline as a line break,
    /// other control characters dropped (XML cannot carry them). A backslash is plain text here.
    static func html(_ text: String) -> String {
        var result = ""
        for character in text.unicodeScalars {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            case "\n": result += "<br/>"
            case _ where character.value < 0x20 || character.value == 0x7f: continue
            default: result.unicodeScalars.append(character)
            }
        }
        return result
    }

    static func small(_ markup: String, size: Int = 9, color: String? = nil) -> String {
        "<font point-size=\"\(size)\"\(color.map { " color=\"\($0)\"" } ?? "")>\(markup)</font>"
    }

    /// Lines of a label beside an edge, with a margin that keeps them off the line they label.
    static func padded(_ lines: [String]) -> String {
        "<table border=\"0\" cellspacing=\"0\" cellpadding=\"5\"><tr><td>"
            + lines.joined(separator: "<br/>") + "</td></tr></table>"
    }

    /// An interface: its name, and below it its address when known (several, one a line).
    static func interfaceLabel(_ interface: String, address: String?) -> String {
        ([interface] + addressLines(address)).map(html).joined(separator: "<br/>")
    }

    static func addressLines(_ address: String?) -> [String] {
        (address ?? "").split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
    }

    /// About how wide `text` is in points, in Helvetica at `size`: Graphviz measures the real
    /// width for the boxes; this only sizes the edges around them.
    static func textWidth(_ text: String, size: Double, bold: Bool = false) -> Double {
        Double(text.count) * size * (bold ? 0.62 : 0.56)
    }

    /// Points as inches for `len`, to the hundredth: the same bytes on every machine.
    static func inches(_ points: Double) -> String { hundredths(points / 72) }

    static func tenths(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    static func hundredths(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        return "\(hundredths / 100)." + (hundredths % 100 < 10 ? "0" : "") + "\(hundredths % 100)"
    }

    /// A fixed address with its subnet's prefix length, as `ip addr` shows it.
    static func fixed(_ address: IPv4Address, in subnet: IPv4Network?) -> String {
        subnet.map { "\(address)/\($0.prefix)" } ?? address.description
    }

    // MARK: - Running dot

    /// `dot` from PATH, else /usr/bin/dot; nil when neither is an executable.
    static func dotProgram() -> String? {
        var candidates: [String] = []
        if let path = getenv("PATH") {
            for directory in String(cString: path).split(separator: ":") where directory.hasPrefix("/") {
                candidates.append(directory + "/dot")
            }
        }
        candidates.append("/usr/bin/dot")
        return candidates.first { access($0, X_OK) == 0 && !Files.isDirectory($0) }
    }

    /// Runs `program -Tformat INPUT` with its output into `stdout`: the dot text goes to a file
    /// beside the output (removed after), stdin is /dev/null, stderr a deleted temporary file
    /// whose first line becomes the error. Killed past `timeLimit` milliseconds.
    static func run(_ program: String, format: String, dot: String, output: String, stdout: Int32,
                    timeLimit: Int) throws(LabError) {
        // A relative path gets "./", so a file named "-x.svg" cannot pass for an option.
        let input = (output.hasPrefix("/") ? "" : "./") + output + ".tmp.\(getpid()).dot"
        try writeNew(input, reportedAs: output, Array(dot.utf8))
        defer { unlink(input) }

        var template = Array("/tmp/contain-dot-XXXXXX".utf8CString)
        let stderrFD = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard stderrFD >= 0 else { throw failure("create a temporary file in", path: "/tmp", errno: errno) }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        _ = fcntl(stderrFD, F_SETFD, FD_CLOEXEC)
        defer { close(stderrFD) }

        let command = "dot -T\(format)"
        let pid = try spawn(program, arguments: ["dot", "-T\(format)", input], stdout: stdout, stderr: stderrFD)
        switch waitBounded(pid, milliseconds: timeLimit) {
        case .ended(.exited(0)):
            return
        case .ended(.exited(let code)):
            let said = firstLine(of: stderrFD, naming: input)
            throw LabError("\(command) failed" + (said.map { ": \($0)" } ?? " with exit status \(code)"))
        case .ended(.signaled(let signal, _)):
            let said = firstLine(of: stderrFD, naming: input)
            throw LabError("\(command) was killed by \(Signals.name(signal))" + (said.map { ": \($0)" } ?? ""))
        case .timedOut:
            let limit = timeLimit >= 1000 ? "\(timeLimit / 1000) s" : "\(timeLimit) ms"
            throw LabError("\(command) did not finish within \(limit) and was killed")
        case .lost(let error):
            throw failure("wait for", path: program, errno: error)
        }
    }

    /// Starts `program` (see Spawn), its failure as a LabError.
    static func spawn(_ program: String, arguments: [String], stdout: Int32, stderr: Int32) throws(LabError) -> pid_t {
        do {
            return try Spawn.start(program, arguments, stdout: stdout, stderr: stderr)
        } catch {
            throw failure("run", path: program, errno: error.errno)
        }
    }

    enum Outcome: Equatable {
        case ended(WaitStatus)
        case timedOut
        /// waitpid failed (ECHILD when SIGCHLD is ignored and the child was reaped for us).
        case lost(Int32)
    }

    /// Waits for `pid`, polling; past `milliseconds` kills and reaps it.
    static func waitBounded(_ pid: pid_t, milliseconds: Int) -> Outcome {
        let deadline = MonotonicClock.milliseconds + milliseconds
        var status: Int32 = 0
        var pause = 1
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid, let ended = WaitStatus(raw: status) { return .ended(ended) }
            if r < 0 && errno != EINTR { return .lost(errno) }
            if MonotonicClock.milliseconds >= deadline {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                return .timedOut
            }
            var interval = timespec(tv_sec: 0, tv_nsec: pause * 1_000_000)
            nanosleep(&interval, nil)
            pause = min(pause * 2, 20)
        }
    }

    /// The first non-empty line of what was written to `fd`, less what only names the temporary
    /// `input` ("Error: ./g.svg.tmp.7.dot: syntax error in line 3" says "syntax error in line 3").
    static func firstLine(of fd: Int32, naming input: String) -> String? {
        guard lseek(fd, 0, SEEK_SET) == 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        let text = String(decoding: buffer[0..<n], as: UTF8.self)
        guard var line = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" })
            .map({ $0.trimmingSpaces() }).first(where: { !$0.isEmpty }) else { return nil }
        for prefix in ["Error: ", "\(input): ", "\(input):"] where line.hasPrefix(prefix) {
            line = String(line.dropFirst(prefix.count))
        }
        return line
    }

    // MARK: - Files

    /// Makes `PATH.tmp.PID`, lets `fill` write it, and renames it over `path`; removes it on any failure.
    static func writeAtomically(_ path: String, _ fill: (Int32) throws(LabError) -> Void) throws(LabError) {
        let temporary = path + ".tmp.\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("write", path: path, errno: errno) }
        var failed: LabError?
        do throws(LabError) { try fill(fd) } catch { failed = error }
        if close(fd) != 0 && failed == nil { failed = failure("write", path: path, errno: errno) }
        if let failed {
            unlink(temporary)
            throw failed
        }
        guard rename(temporary, path) == 0 else {
            let saved = errno
            unlink(temporary)
            throw failure("write", path: path, errno: saved)
        }
    }

    static func writeNew(_ path: String, reportedAs shown: String, _ bytes: [UInt8]) throws(LabError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("write", path: shown, errno: errno) }
        defer { close(fd) }
        do throws(LabError) { try write(fd, bytes, path: shown) } catch {
            unlink(path)
            throw error
        }
    }

    static func write(_ fd: Int32, _ bytes: [UInt8], path: String) throws(LabError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("write", path: path, errno: errno)
            }
            offset += n
        }
    }

    static func failure(_ operation: String, path: String, errno: Int32) -> LabError {
        LabError(SystemError(operation, path: path, errno: errno).description)
    }
}

private extension Substring {
    func trimmingSpaces() -> String {
        var text = self
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        return String(text)
    }
}
