/// What the name server knows, built from the networks' lease files: which names each
/// container answers to on each network, and the answer to a question from a given container.
///
/// A container is known by the address it asks from. It sees the containers of the networks
/// it is on and no others: the address a name resolves to is the one on a network the two
/// share (a router on `a` and `b` is `10.1.0.2` to the members of `a` and `10.2.0.2` to those
/// of `b`). Names are its name (given or generated), its aliases on that network, and its id
/// as `ps` shows it (12 characters; the full 64 are longer than a DNS label may be),
/// case-insensitively, as docker's embedded server answers them. Everything else is for the upstream resolvers, unless the asker is only on
/// internal networks (which reach nothing outside) or is not a container at all.
public struct NameTable: Sendable {
    public struct Entry: Equatable, Sendable {
        public var network: String
        public var isInternal: Bool
        public var address: IPv4Address
        public var address6: IPv6Address?
        public var containerID: String
        /// Lowercased: the name, aliases and short id.
        public var names: [String]
        /// The name reverse lookups give: its name, or its short id when it has none.
        public var canonicalName: String
    }

    public enum Resolution: Equatable, Sendable {
        /// Local answers (A or AAAA records, or the PTR record of a member's address).
        case answers([DNSAnswer])
        /// A local name with no record of the type asked (AAAA of an IPv4-only member): NOERROR,
        /// no answers, so the asker does not take the name for nonexistent.
        case noData
        /// Not a local name: the upstream resolvers'.
        case forward
        /// Not a local name, and the asker may not go further (only internal networks).
        case nameError
        /// The asker is not a container on any network.
        case refused
    }

    public private(set) var entries: [Entry] = []

    public init(entries: [Entry] = []) { self.entries = entries }

    /// From each network's definition and its live leases.
    public init(networks: [(definition: NetworkDefinition, leases: [Lease])]) {
        for (definition, leases) in networks {
            for lease in leases {
                let shortID = String(lease.containerID.prefix(12))
                var names = lease.aliases + [shortID]
                if let name = lease.name { names.insert(name, at: 0) }
                var seen = Set<String>()
                entries.append(Entry(network: definition.name, isInternal: definition.internal, address: lease.address,
                                     address6: lease.address6, containerID: lease.containerID,
                                     names: names.map { $0.lowercased() }.filter { seen.insert($0).inserted },
                                     canonicalName: lease.name ?? shortID))
            }
        }
    }

    /// The entries of the container asking from `address` (one per network it is on).
    public func asker(_ address: IPAddress) -> [Entry] {
        let found: Entry?
        switch address {
        case .v4(let v4): found = entries.first { $0.address == v4 }
        case .v6(let v6): found = entries.first { $0.address6 == v6 }
        }
        guard let container = found?.containerID else { return [] }
        return entries.filter { $0.containerID == container }
    }

    public func resolve(_ question: DNSQuestion, from address: IPv4Address) -> Resolution {
        resolve(question, from: .v4(address))
    }

    public func resolve(_ question: DNSQuestion, from address: IPAddress) -> Resolution {
        let own = asker(address)
        guard !own.isEmpty else { return .refused }
        let networks = Set(own.map(\.network))
        let visible = entries.filter { networks.contains($0.network) }
        let outside: Resolution = own.allSatisfy(\.isInternal) ? .nameError : .forward

        if question.type == DNSType.ptr {
            let entry: Entry?
            if let target = question.name.reverseIPv4 {
                entry = visible.first { $0.address == target }
            } else if let bytes = question.name.reverseIPv6, let target = IPv6Address(bytes: bytes) {
                entry = visible.first { $0.address6 == target }
            } else {
                entry = nil
            }
            guard let entry, let name = DNSName(entry.canonicalName) else { return outside }
            return .answers([.ptr(name)])
        }
        let name = question.name.description
        let matches = visible.filter { $0.names.contains(name) }
        guard !matches.isEmpty else { return outside }
        switch question.type {
        case DNSType.a, DNSType.any:
            var seen = Set<IPv4Address>()
            return .answers(matches.map(\.address).filter { seen.insert($0).inserted }.sorted().map(DNSAnswer.a))
        case DNSType.aaaa:
            var seen = Set<IPv6Address>()
            let addresses = matches.compactMap(\.address6).filter { seen.insert($0).inserted }.sorted()
            return addresses.isEmpty ? .noData : .answers(addresses.map { .aaaa($0.bytes) })
        default:
            return .noData
        }
    }
}
