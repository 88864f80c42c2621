import ContainNetwork

/// A lab file's YAML into a checked `LabFile`. Every complaint is one line naming the place in
/// the file (line and column) and, for an unknown key, the known key it is closest to.
///
///     name: triangle                     # optional: the file's name without .yaml
///     networks:
///       lan: {subnet: 10.91.1.0/24}      # also internal: true, mtu: 1400; {} picks a free subnet
///     nodes:
///       r1:
///         rootfs: ../.rootfs/busybox     # relative to the file
///         command: httpd -f -p 80        # a string runs under sh -c; a list is the argv
///         env: {MODE: lab}               # or [MODE=lab]
///         volumes: [/srv/www:/www:ro]
///         ports: ["8080:80"]
///         memory: 64M
///         cpus: 0.5
///         pids: 64
///         init: true
///         sysctls: {net.ipv4.ip_forward: 1}
///         cap_add: [NET_ADMIN]
///         networks:                      # or [lan, wan]
///           lan: {ip: 10.91.1.2, impair: "delay=20ms"}
///         routes:
///           - {to: 10.0.23.0/30, via: 10.0.12.2}    # to: default for the default route
///         exec: ["ping -c 1 r2"]
///     links:
///       - endpoints: [r1:eth1, r2:eth1]
///         subnet: 10.0.12.0/30           # ends get .1 and .2 unless addresses say otherwise
///         addresses: [10.0.12.1, 10.0.12.2]
///         mtu: 1400
///         impair: {delay: 20ms, loss: 1%}   # or "delay=20ms,loss=1%"
extension LabFile {
    /// Reads `text`; `file` names it in messages, and its name gives the lab's name when the file
    /// has none.
    public static func parse(_ text: String, file: String) throws(LabError) -> LabFile {
        try parse(bytes: Array(text.utf8), file: file)
    }

    /// The file's bytes as they are, so that libyaml names bytes that are not UTF-8.
    public static func parse(bytes: [UInt8], file: String) throws(LabError) -> LabFile {
        let root: YAMLNode?
        do {
            root = try YAML.parse(bytes: bytes)
        } catch {
            throw LabError(error.mark == nil ? error.message : "invalid YAML: \(error.message)", file: file,
                           line: error.mark?.line, column: error.mark?.column)
        }
        guard let root else { throw LabError("the file is empty: a lab needs at least one node", file: file) }
        return try Decoder(file: file).lab(root, defaultName: defaultName(file))
    }

    /// `labs/triangle.yaml` → `triangle`.
    public static func defaultName(_ file: String) -> String {
        var base = file.split(separator: "/").last.map(String.init) ?? file
        for suffix in [".yaml", ".yml"] where base.hasSuffix(suffix) { base.removeLast(suffix.count) }
        return base
    }

    /// Names of labs, nodes and networks: what a hostname allows, so a node's name is its
    /// hostname and the name its peers resolve.
    public static func isValidName(_ name: String) -> Bool {
        guard (1...40).contains(name.utf8.count), name.first != "-", name.last != "-" else { return false }
        return name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
    }
}

private struct Decoder {
    let file: String

    func fail(_ message: String, at node: YAMLNode? = nil) -> LabError {
        LabError(message, file: file, line: node?.mark.line, column: node?.mark.column)
    }

    // MARK: the lab

    func lab(_ root: YAMLNode, defaultName: String) throws(LabError) -> LabFile {
        let fields = try mapping(root, "the lab file", keys: ["name", "networks", "nodes", "links"])
        var name = defaultName
        var nameNode: YAMLNode?
        if let node = fields["name"] {
            name = try string(node, "name")
            nameNode = node
        }
        guard LabFile.isValidName(name) else {
            throw fail("invalid lab name `\(name)`: use up to 40 letters, digits and `-`\(nameNode == nil ? " (it comes from the file's name; set name: in the file)" : "")", at: nameNode)
        }
        var lab = LabFile(name: name)
        if let networks = fields["networks"], !isNull(networks) {
            for pair in try pairs(networks, "networks") {
                lab.networks.append(try network(pair))
            }
        }
        guard let nodes = fields["nodes"], !isNull(nodes) else { throw fail("a lab needs `nodes`", at: root) }
        var nodeMarks: [String: YAMLNode] = [:]
        for pair in try pairs(nodes, "nodes") {
            let node = try self.node(pair)
            nodeMarks[node.name] = pair.key
            lab.nodes.append(node)
        }
        if lab.nodes.isEmpty { throw fail("a lab needs at least one node", at: nodes) }
        var linkMarks: [YAMLNode] = []
        if let links = fields["links"], !isNull(links) {
            for item in try sequence(links, "links") {
                lab.links.append(try link(item))
                linkMarks.append(item)
            }
        }
        try check(lab, nodeMarks: nodeMarks, linkMarks: linkMarks)
        return lab
    }

    func network(_ pair: YAMLPair) throws(LabError) -> LabFile.Network {
        let name = try string(pair.key, "a network's name")
        guard LabFile.isValidName(name) else { throw fail("invalid network name `\(name)`: use letters, digits and `-`", at: pair.key) }
        var network = LabFile.Network(name: name)
        guard !isNull(pair.value) else { return network }
        let fields = try mapping(pair.value, "network `\(name)`", keys: ["subnet", "internal", "mtu"])
        if let subnet = fields["subnet"] { network.subnet = try ipv4Network(subnet, "network `\(name)`'s subnet") }
        if let node = fields["internal"] { network.internal = try bool(node, "network `\(name)`'s internal") }
        if let node = fields["mtu"] { network.mtu = try mtu(node, "network `\(name)`'s mtu") }
        return network
    }

    // MARK: nodes

    static let nodeKeys = ["rootfs", "command", "env", "volumes", "ports", "memory", "cpus", "pids", "init", "sysctls",
                           "cap_add", "networks", "routes", "exec"]

    func node(_ pair: YAMLPair) throws(LabError) -> LabFile.Node {
        let name = try string(pair.key, "a node's name")
        guard LabFile.isValidName(name) else {
            throw fail("invalid node name `\(name)`: use up to 40 letters, digits and `-` (it is the node's hostname)", at: pair.key)
        }
        let what = "node `\(name)`"
        let fields = try mapping(pair.value, what, keys: Self.nodeKeys)
        guard let rootfsNode = fields["rootfs"] else { throw fail("\(what) needs a `rootfs` (a directory or a .tar/.tar.gz)", at: pair.key) }
        var node = LabFile.Node(name: name, rootfs: try string(rootfsNode, "\(what)'s rootfs"))
        if let command = fields["command"] {
            if case .sequence = command.kind {
                node.command = try strings(command, "\(what)'s command")
            } else {
                node.command = ["sh", "-c", try string(command, "\(what)'s command")]
            }
        }
        if let env = fields["env"] { node.env = try keyValues(env, "\(what)'s env") }
        if let volumes = fields["volumes"] { node.volumes = try strings(volumes, "\(what)'s volumes") }
        if let ports = fields["ports"] { node.ports = try strings(ports, "\(what)'s ports") }
        if let memory = fields["memory"] { node.memory = try string(memory, "\(what)'s memory") }
        if let cpus = fields["cpus"] { node.cpus = try string(cpus, "\(what)'s cpus") }
        if let pids = fields["pids"] { node.pids = try string(pids, "\(what)'s pids") }
        if let flag = fields["init"] { node.initProcess = try bool(flag, "\(what)'s init") }
        if let sysctls = fields["sysctls"] { node.sysctls = try keyValues(sysctls, "\(what)'s sysctls") }
        if let caps = fields["cap_add"] { node.capAdd = try strings(caps, "\(what)'s cap_add") }
        if let networks = fields["networks"] { node.networks = try attachments(networks, what) }
        if let routes = fields["routes"] {
            for item in try sequence(routes, "\(what)'s routes") { node.routes.append(try route(item, what)) }
        }
        if let exec = fields["exec"] { node.exec = try strings(exec, "\(what)'s exec") }
        return node
    }

    func attachments(_ node: YAMLNode, _ what: String) throws(LabError) -> [LabFile.Attachment] {
        var result: [LabFile.Attachment] = []
        if case .sequence(let items) = node.kind {
            for item in items { result.append(LabFile.Attachment(network: try string(item, "\(what)'s networks"))) }
            return result
        }
        for pair in try pairs(node, "\(what)'s networks") {
            var attachment = LabFile.Attachment(network: try string(pair.key, "\(what)'s networks"))
            if !isNull(pair.value) {
                let fields = try mapping(pair.value, "\(what) on network `\(attachment.network)`", keys: ["impair", "ip"])
                if let ip = fields["ip"] { attachment.address = try ipv4Address(ip, "\(what)'s ip on `\(attachment.network)`") }
                if let impair = fields["impair"] { attachment.impairment = try impairment(impair, "\(what) on `\(attachment.network)`") }
            }
            result.append(attachment)
        }
        return result
    }

    func route(_ node: YAMLNode, _ what: String) throws(LabError) -> LabFile.Route {
        var to: YAMLNode?, via: YAMLNode?
        if case .scalar(let text) = node.kind {
            // `10.0.23.0/30 via 10.0.12.2`, as ip route reads it.
            let words = text.split(separator: " ").map(String.init)
            guard words.count == 3, words[1] == "via" else {
                throw fail("invalid route `\(text)` in \(what): write `DESTINATION via GATEWAY` or {to: DESTINATION, via: GATEWAY}", at: node)
            }
            to = YAMLNode(kind: .scalar(words[0]), mark: node.mark)
            via = YAMLNode(kind: .scalar(words[2]), mark: node.mark)
        } else {
            let fields = try mapping(node, "a route of \(what)", keys: ["to", "via"])
            to = fields["to"]
            via = fields["via"]
        }
        guard let to, let via else { throw fail("a route of \(what) needs `to` and `via`", at: node) }
        let destination = try string(to, "a route's to")
        let gateway = try ipv4Address(via, "a route's via in \(what)")
        if destination == "default" || destination == "0.0.0.0/0" { return LabFile.Route(destination: nil, gateway: gateway) }
        // A subnet or one address (/32), unlike a network's subnet, which must hold hosts.
        let halves = destination.split(separator: "/", omittingEmptySubsequences: false)
        guard let address = IPv4Address(String(halves[0])), halves.count <= 2,
              let prefix = halves.count == 2 ? Int(halves[1]) : 32, (1...32).contains(prefix),
              address.value & ~IPv4Network.mask(prefix) == 0 else {
            throw fail("invalid route destination `\(destination)` in \(what): write a subnet such as 10.0.23.0/30, an address, or default", at: to)
        }
        return LabFile.Route(destination: IPv4Network(network: address, prefix: prefix), gateway: gateway)
    }

    // MARK: links

    func link(_ node: YAMLNode) throws(LabError) -> LabFile.Link {
        let fields = try mapping(node, "a link", keys: ["endpoints", "subnet", "addresses", "mtu", "impair"])
        guard let endpointsNode = fields["endpoints"] else { throw fail("a link needs `endpoints: [NODE:IFACE, NODE:IFACE]`", at: node) }
        let texts = try strings(endpointsNode, "a link's endpoints")
        guard texts.count == 2 else { throw fail("a link has two endpoints, not \(texts.count)", at: endpointsNode) }
        var endpoints: [LabFile.Link.Endpoint] = []
        for text in texts {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw fail("invalid link endpoint `\(text)`: write NODE:INTERFACE, e.g. r1:eth1", at: endpointsNode)
            }
            guard isValidInterfaceName(parts[1]) else {
                throw fail("invalid interface name `\(parts[1])` in `\(text)`: up to 15 characters, no `/`, `:` or spaces", at: endpointsNode)
            }
            endpoints.append(LabFile.Link.Endpoint(node: parts[0], interface: parts[1]))
        }
        let name = "link \(endpoints[0]) — \(endpoints[1])"
        var link = LabFile.Link(endpoints: endpoints)
        if let subnet = fields["subnet"] { link.subnet = try ipv4Network(subnet, "\(name)'s subnet") }
        if let addresses = fields["addresses"] {
            let items = try sequence(addresses, "\(name)'s addresses")
            guard items.count == 2 else { throw fail("\(name) has two ends: give two addresses, not \(items.count)", at: addresses) }
            for (index, item) in items.enumerated() {
                let text = try string(item, "\(name)'s addresses")
                if text.contains("/") {
                    let halves = text.split(separator: "/", omittingEmptySubsequences: false)
                    guard halves.count == 2, let address = IPv4Address(String(halves[0])), let prefix = Int(halves[1]), (1...30).contains(prefix) else {
                        throw fail("invalid address `\(text)` in \(name): write 10.0.12.1/30 (a prefix length up to 30) or 10.0.12.1", at: item)
                    }
                    let network = IPv4Network(network: address, prefix: prefix)
                    if let subnet = link.subnet, subnet != network {
                        throw fail("address \(text) of \(endpoints[index]) is outside \(name)'s subnet \(subnet)", at: item)
                    }
                    link.subnet = network
                    link.endpoints[index].address = address
                } else {
                    link.endpoints[index].address = try ipv4Address(item, "\(name)'s address")
                }
            }
            guard link.subnet != nil else { throw fail("\(name): give its `subnet`, or addresses with a prefix length (10.0.12.1/30)", at: addresses) }
        } else if let subnet = link.subnet {
            link.endpoints[0].address = subnet.firstHost
            link.endpoints[1].address = IPv4Address(subnet.firstHost.value + 1)
        }
        if let subnet = link.subnet {
            for end in link.endpoints {
                guard let address = end.address else { continue }
                guard subnet.contains(address) else {
                    throw fail("address \(address) of \(end) is outside \(name)'s subnet \(subnet)", at: fields["addresses"] ?? node)
                }
                guard subnet.isHost(address) else {
                    throw fail("address \(address) of \(end) is \(subnet)'s \(address == subnet.network ? "network" : "broadcast") address", at: fields["addresses"] ?? node)
                }
            }
            if link.endpoints[0].address != nil, link.endpoints[0].address == link.endpoints[1].address {
                throw fail("both ends of \(name) have address \(link.endpoints[0].address!)", at: fields["addresses"] ?? node)
            }
        }
        if let mtu = fields["mtu"] { link.mtu = try self.mtu(mtu, "\(name)'s mtu") }
        if let impair = fields["impair"] { link.impairment = try impairment(impair, name) }
        return link
    }

    // MARK: the whole

    func check(_ lab: LabFile, nodeMarks: [String: YAMLNode], linkMarks: [YAMLNode]) throws(LabError) {
        let networkNames = lab.networks.map(\.name)
        var subnets: [(what: String, subnet: IPv4Network, mark: YAMLNode?)] = []
        for network in lab.networks {
            if let subnet = network.subnet { subnets.append(("network `\(network.name)`", subnet, nil)) }
        }
        for (index, link) in lab.links.enumerated() {
            if let subnet = link.subnet {
                subnets.append(("link \(link.endpoints[0]) — \(link.endpoints[1])", subnet, linkMarks[index]))
            }
        }
        for (i, a) in subnets.enumerated() {
            for b in subnets[(i + 1)...] where a.subnet.overlaps(b.subnet) {
                throw fail("the subnets of \(a.what) (\(a.subnet)) and \(b.what) (\(b.subnet)) overlap", at: b.mark ?? a.mark)
            }
        }
        // Interfaces of each node: its networks' (eth0, eth1 ...) then its links'.
        var interfaces: [String: Set<String>] = [:]
        for node in lab.nodes {
            let mark = nodeMarks[node.name]
            var seen: Set<String> = []
            for (index, attachment) in node.networks.enumerated() {
                guard let network = lab.network(named: attachment.network) else {
                    throw fail("node `\(node.name)` joins network `\(attachment.network)`, which the file does not define\(suggestion(attachment.network, among: networkNames, label: "networks"))", at: mark)
                }
                guard seen.insert(network.name).inserted else { throw fail("node `\(node.name)` joins network `\(network.name)` twice", at: mark) }
                if let address = attachment.address, let subnet = network.subnet {
                    guard subnet.contains(address) else {
                        throw fail("node `\(node.name)`'s address \(address) is outside network `\(network.name)`'s subnet \(subnet)", at: mark)
                    }
                }
                interfaces[node.name, default: []].insert("eth\(index)")
            }
        }
        for (index, link) in lab.links.enumerated() {
            for end in link.endpoints {
                guard lab.node(named: end.node) != nil else {
                    throw fail("link endpoint `\(end)` names node `\(end.node)`, which the file does not define\(suggestion(end.node, among: lab.nodes.map(\.name), label: "nodes"))", at: linkMarks[index])
                }
                guard interfaces[end.node, default: []].insert(end.interface).inserted else {
                    throw fail("node `\(end.node)` has interface `\(end.interface)` twice (its networks take eth0, eth1 ... in order)", at: linkMarks[index])
                }
            }
            if link.endpoints[0].node == link.endpoints[1].node {
                throw fail("a link joins two nodes: both ends of it are on `\(link.endpoints[0].node)`", at: linkMarks[index])
            }
        }
        // A route's gateway must be a neighbour: on a subnet the node is on.
        for node in lab.nodes {
            var known: [IPv4Network] = node.networks.compactMap { lab.network(named: $0.network)?.subnet }
            var unknownSubnet = node.networks.contains { lab.network(named: $0.network)?.subnet == nil }
            for link in lab.links where link.endpoints.contains(where: { $0.node == node.name }) {
                if let subnet = link.subnet { known.append(subnet) } else { unknownSubnet = true }
            }
            for route in node.routes where !unknownSubnet && !known.contains(where: { $0.contains(route.gateway) }) {
                throw fail("node `\(node.name)`'s route to \(route.destination.map { "\($0)" } ?? "default") goes via \(route.gateway), which is on none of its subnets (\(known.map { "\($0)" }.joined(separator: ", ")))", at: nodeMarks[node.name])
            }
        }
    }

    // MARK: values

    /// The fields of a mapping by key; a key not in `keys` is refused with the closest known one.
    func mapping(_ node: YAMLNode, _ what: String, keys: [String]) throws(LabError) -> [String: YAMLNode] {
        var fields: [String: YAMLNode] = [:]
        for pair in try pairs(node, what) {
            let key = try string(pair.key, "a key")
            guard keys.contains(key) else {
                throw fail("unknown key `\(key)` in \(what)\(suggestion(key, among: keys, label: "keys"))", at: pair.key)
            }
            fields[key] = pair.value
        }
        return fields
    }

    func pairs(_ node: YAMLNode, _ what: String) throws(LabError) -> [YAMLPair] {
        if isNull(node) { return [] }
        guard case .mapping(let pairs) = node.kind else { throw fail("\(what) must be a mapping (KEY: VALUE lines), not \(kind(node))", at: node) }
        return pairs
    }

    func sequence(_ node: YAMLNode, _ what: String) throws(LabError) -> [YAMLNode] {
        if isNull(node) { return [] }
        guard case .sequence(let items) = node.kind else { throw fail("\(what) must be a list, not \(kind(node))", at: node) }
        return items
    }

    func string(_ node: YAMLNode, _ what: String) throws(LabError) -> String {
        guard case .scalar(let text) = node.kind else { throw fail("\(what) must be a single value, not \(kind(node))", at: node) }
        if isNull(node) { throw fail("\(what) is empty", at: node) }
        return text
    }

    /// A list of values; a single value is a list of one.
    func strings(_ node: YAMLNode, _ what: String) throws(LabError) -> [String] {
        if case .scalar = node.kind, !isNull(node) { return [try string(node, what)] }
        var result: [String] = []
        for item in try sequence(node, what) { result.append(try string(item, what)) }
        return result
    }

    /// `{KEY: VALUE}` or `[KEY=VALUE]`.
    func keyValues(_ node: YAMLNode, _ what: String) throws(LabError) -> [(key: String, value: String)] {
        if case .sequence = node.kind {
            var result: [(key: String, value: String)] = []
            for text in try strings(node, what) {
                guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                    throw fail("invalid entry `\(text)` in \(what): write KEY=VALUE", at: node)
                }
                result.append((String(text[..<equals]), String(text[text.index(after: equals)...])))
            }
            return result
        }
        var result: [(key: String, value: String)] = []
        for pair in try pairs(node, what) {
            let value: String
            if case .scalar(let text) = pair.value.kind { value = isNull(pair.value) ? "" : text } else {
                throw fail("\(what): the value of `\(try string(pair.key, what))` must be a single value", at: pair.value)
            }
            result.append((try string(pair.key, what), value))
        }
        return result
    }

    func bool(_ node: YAMLNode, _ what: String) throws(LabError) -> Bool {
        if node.isPlain, case .scalar(let text) = node.kind {
            switch text {
            case "true", "True", "TRUE", "yes", "on": return true
            case "false", "False", "FALSE", "no", "off": return false
            default: break
            }
        }
        throw fail("\(what) must be true or false", at: node)
    }

    func mtu(_ node: YAMLNode, _ what: String) throws(LabError) -> Int {
        guard let value = Int(try string(node, what)), (68...65535).contains(value) else {
            throw fail("\(what) must be a number from 68 to 65535", at: node)
        }
        return value
    }

    func ipv4Network(_ node: YAMLNode, _ what: String) throws(LabError) -> IPv4Network {
        let text = try string(node, what)
        do { return try IPv4Network(parsing: text) } catch { throw fail("\(what): \(error)", at: node) }
    }

    func ipv4Address(_ node: YAMLNode, _ what: String) throws(LabError) -> IPv4Address {
        let text = try string(node, what)
        guard let address = IPv4Address(text) else { throw fail("\(what): `\(text)` is not an IPv4 address", at: node) }
        return address
    }

    /// `"delay=20ms,loss=1%"` or `{delay: 20ms, loss: 1%}`: `net impair`'s options.
    func impairment(_ node: YAMLNode, _ what: String) throws(LabError) -> Impairment {
        var specification: String
        if case .mapping = node.kind {
            let keys = ["delay", "jitter", "loss", "rate", "duplicate", "corrupt", "reorder", "limit"]
            let fields = try mapping(node, "the impairment of \(what)", keys: keys)
            specification = keys.compactMap { key in fields[key].map { (key, $0) } }
                .map { "\($0.0)=\((try? string($0.1, $0.0)) ?? "")" }.joined(separator: ",")
        } else {
            specification = try string(node, "the impairment of \(what)")
        }
        do {
            let impairment = try Impairment(parsing: specification)
            guard !impairment.isEmpty else { throw NetworkError.invalid("it sets nothing") }
            return impairment
        } catch {
            throw fail("the impairment of \(what): \(error)", at: node)
        }
    }

    func isNull(_ node: YAMLNode) -> Bool {
        guard node.isPlain, case .scalar(let text) = node.kind else { return false }
        return text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL"
    }

    func kind(_ node: YAMLNode) -> String {
        switch node.kind {
        case .scalar: return "a single value"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }

    func isValidInterfaceName(_ name: String) -> Bool {
        (1...15).contains(name.utf8.count) && !name.contains("/") && !name.contains(":") && !name.contains(" ") && name != "lo"
            && name != "." && name != ".."
    }

    /// ` (did you mean `x`?)`, or the known names when none is close.
    func suggestion(_ word: String, among known: [String], label: String) -> String {
        let scored = known.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }.sorted { $0.1 < $1.1 }
        if let best = scored.first, best.1 <= max(1, word.count / 3), best.1 < word.count { return " (did you mean `\(best.0)`?)" }
        return known.isEmpty ? "" : " (\(label): \(known.joined(separator: ", ")))"
    }
}

/// Levenshtein distance over characters.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...max(b.count, 1) where !b.isEmpty {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
