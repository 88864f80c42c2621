import ContainSystem

/// One container's address on a network, and what is needed to find it again and to tell
/// whether its owner is still alive.
public struct Lease: Equatable, Sendable {
    public var address: IPv4Address
    /// Its IPv6 address, on a network with an IPv6 subnet.
    public var address6: IPv6Address?
    /// `--mac-address`: its interface's MAC address; nil: `02:42` and its IPv4 address.
    public var mac: [UInt8]?
    /// The MAC address its interface has.
    public var effectiveMAC: [UInt8] { mac ?? Endpoint.containerMAC(for: address) }
    public var containerID: String
    /// The `contain` process that holds the lease; a lease whose owner died is reclaimed.
    public var owner: ProcessIdentity
    /// The host end of the container's veth.
    public var hostInterface: String
    /// The container's name, which the network's name server answers (nil: unnamed).
    public var name: String?
    /// The container's hostname.
    public var hostname: String
    /// Ports published to it (`-p`).
    public var ports: [PortMapping]
    /// `--network-alias`: more names the network's name server answers with its address
    /// (an alias several containers share is answered with each of their addresses).
    public var aliases: [String]

    public init(address: IPv4Address, containerID: String, owner: ProcessIdentity, hostInterface: String,
                name: String? = nil, hostname: String? = nil, ports: [PortMapping] = [], aliases: [String] = [],
                address6: IPv6Address? = nil, mac: [UInt8]? = nil) {
        self.mac = mac
        self.aliases = aliases
        self.address6 = address6
        self.address = address
        self.containerID = containerID
        self.owner = owner
        self.hostInterface = hostInterface
        self.name = name
        self.hostname = hostname ?? name ?? String(containerID.prefix(12))
        self.ports = ports
    }
}

/// The leases of one network: pure allocation logic plus a line format for its file.
///
///     # address  container-id  owner-pid@start-time  host-interface  name  hostname  -  ports        -  aliases  address6       mac
///     10.88.0.2  3f9c...       4242@1234567          veth3f9c0a1b    web   web       -  8080:80/tcp  -  www,api  fd3c:1:2:3::2  -
///
/// Fields are separated by single tabs; ports and aliases by commas; `-` stands for an absent
/// name, port list, aliases, IPv6 address or MAC address (its own, from its IPv4 address). Fields 7 and 9 (a hosts file kept current and its extra
/// entries, when names were written into every container's hosts file rather than served by
/// the name server) are written as `-` and ignored when read; lines of 8 to 11 fields, from
/// before aliases, IPv6 and MAC addresses, have none.
public struct LeaseTable: Equatable, Sendable {
    public private(set) var leases: [Lease]

    public init(leases: [Lease] = []) { self.leases = leases }

    /// Leases of owners that are still alive; the others are dropped and returned.
    @discardableResult
    public mutating func reclaim(isAlive: (ProcessIdentity) -> Bool) -> [Lease] {
        // One liveness check per lease: each reads /proc, under the store lock.
        var live: [Lease] = [], dead: [Lease] = []
        for lease in leases {
            if isAlive(lease.owner) { live.append(lease) } else { dead.append(lease) }
        }
        leases = live
        return dead
    }

    /// Leases an address in `subnet` for `lease` (whose address fields are ignored unless
    /// requested): the requested one if it is free, else the lowest free host address that is
    /// not the gateway; and so in `subnet6` too, when the network has one.
    public mutating func allocate(_ lease: Lease, subnet: IPv4Network, gateway: IPv4Address,
                                  requested: IPv4Address? = nil,
                                  subnet6: (network: IPv6Network, gateway: IPv6Address)? = nil,
                                  requested6: IPv6Address? = nil) throws(NetworkError) -> IPv4Address {
        if leases.contains(where: { $0.containerID == lease.containerID }) {
            throw .conflict("container \(lease.containerID.prefix(12)) already has an address on this network")
        }
        if let name = lease.name, leases.contains(where: { $0.name == name }) {
            throw .conflict("the name `\(name)` is already in use on this network")
        }
        if let mac = lease.mac {
            if let other = leases.first(where: { $0.effectiveMAC == mac }) {
                throw .conflict("MAC address \(MACAddress.text(mac)) is already used on this network by container \(other.name ?? String(other.containerID.prefix(12)))")
            }
            if mac == Endpoint.containerMAC(for: gateway) { throw .conflict("MAC address \(MACAddress.text(mac)) is the network's bridge's") }
        }
        let used = Set(leases.map(\.address.value)).union([gateway.value])
        let address: IPv4Address
        if let requested {
            guard subnet.isHost(requested) else {
                throw .invalid("address \(requested) is not a usable address in \(subnet)")
            }
            guard requested != gateway else { throw .conflict("address \(requested) is the network's gateway") }
            guard !used.contains(requested.value) else { throw .conflict("address \(requested) is already leased") }
            address = requested
        } else {
            var candidate = subnet.firstHost.value
            while candidate <= subnet.lastHost.value && used.contains(candidate) { candidate += 1 }
            guard candidate <= subnet.lastHost.value else {
                throw .exhausted("no free address left in \(subnet)")
            }
            address = IPv4Address(candidate)
        }
        var leased = lease
        leased.address = address
        leased.address6 = nil
        if let subnet6 {
            leased.address6 = try allocate6(in: subnet6.network, gateway: subnet6.gateway, requested: requested6)
        } else if let requested6 {
            throw .invalid("--ip6 \(requested6): the network has no IPv6 subnet")
        }
        leases.append(leased)
        leases.sort { $0.address < $1.address }
        return address
    }

    /// The requested IPv6 address if it is free, else the lowest free one after the gateway
    /// (the subnet's first host by default) that is not leased.
    private func allocate6(in subnet: IPv6Network, gateway: IPv6Address, requested: IPv6Address?) throws(NetworkError) -> IPv6Address {
        let used = Set(leases.compactMap(\.address6)).union([gateway])
        if let requested {
            guard subnet.isHost(requested) else { throw .invalid("address \(requested) is not a usable address in \(subnet)") }
            guard requested != gateway else { throw .conflict("address \(requested) is the network's gateway") }
            guard !used.contains(requested) else { throw .conflict("address \(requested) is already leased") }
            return requested
        }
        // At most one candidate per lease is taken, so this ends within leases.count + 2 steps.
        var n: UInt64 = 1
        while let candidate = subnet.host(n) {
            if !used.contains(candidate) { return candidate }
            n += 1
        }
        throw .exhausted("no free address left in \(subnet)")
    }

    /// Drops the lease of `containerID`; returns it if there was one.
    @discardableResult
    public mutating func release(containerID: String) -> Lease? {
        guard let i = leases.firstIndex(where: { $0.containerID == containerID }) else { return nil }
        return leases.remove(at: i)
    }

    // MARK: file format

    public init(parsing text: String) throws(NetworkError) {
        var leases: [Lease] = []
        for (number, line) in text.splitASCII("\n").enumerated() where !line.hasPrefix("#") {
            let f = line.splitASCII("\t", omittingEmptySubsequences: false).map(String.init)
            let ownerParts = (8...12).contains(f.count) ? f[2].splitASCII("@") : []
            let address6 = f.count >= 11 && f[10] != "-" ? IPv6Address(f[10]) : nil
            let mac = f.count == 12 && f[11] != "-" ? MACAddress.parse(f[11]) : nil
            guard (8...12).contains(f.count), f.count < 11 || f[10] == "-" || address6 != nil,
                  f.count < 12 || f[11] == "-" || mac != nil, let address = IPv4Address(f[0]), ownerParts.count == 2,
                  let pid = Int32(ownerParts[0]), let start = UInt64(ownerParts[1]) else {
                throw .invalid("lease file line \(number + 1) is malformed: \(line)")
            }
            leases.append(Lease(address: address, containerID: f[1], owner: ProcessIdentity(pid: pid, startTime: start),
                                hostInterface: f[3], name: f[4] == "-" ? nil : f[4], hostname: f[5],
                                ports: f[7] == "-" ? [] : try f[7].splitASCII(",").map { p throws(NetworkError) in try PortMapping(parsing: String(p)) },
                                aliases: f.count >= 10 && f[9] != "-" ? f[9].splitASCII(",").map(String.init) : [],
                                address6: address6, mac: mac))
        }
        self.leases = leases
    }

    public var serialized: String {
        var text = "# address\tcontainer-id\towner\thost-interface\tname\thostname\t-\tports\t-\taliases\taddress6\tmac\n"
        // Appended field by field (interpolating a dozen fields a line cost most of a save on a
        // network of hundreds).
        text.reserveCapacity(text.utf8.count + leases.count * 192)
        for l in leases {
            text += l.address.description; text += "\t"
            text += l.containerID; text += "\t"
            text += l.owner.description; text += "\t"
            text += l.hostInterface; text += "\t"
            text += l.name ?? "-"; text += "\t"
            text += l.hostname; text += "\t-\t"
            text += l.ports.isEmpty ? "-" : l.ports.map(\.description).joined(separator: ","); text += "\t-\t"
            text += l.aliases.isEmpty ? "-" : l.aliases.joined(separator: ","); text += "\t"
            text += l.address6?.description ?? "-"; text += "\t"
            text += l.mac.map(MACAddress.text) ?? "-"; text += "\n"
        }
        return text
    }
}
