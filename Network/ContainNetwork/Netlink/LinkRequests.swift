import CLibmnl
#if canImport(Glibc)
import Glibc
#endif

/// The network namespace a veth's peer is born in.
public enum PeerNamespace: Equatable, Sendable {
    /// That of a process (IFLA_NET_NS_PID).
    case process(Int32)
    /// The one an open namespace file refers to, e.g. `/proc/PID/ns/net` or a bind mount under
    /// `/run/netns` (IFLA_NET_NS_FD). The descriptor only has to stay open for the request.
    case file(descriptor: Int32)
}

/// rtnetlink requests about links, built with libmnl. Pure: each returns the message bytes, so
/// tests compare them with golden bytes and only the transport talks to the kernel.
public enum LinkRequests {
    static let createFlags = UInt16(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)

    /// RTM_NEWLINK that sets IFF_UP on the link with index `index`.
    public static func setUp(index: Int32, sequence: UInt32) -> [UInt8] {
        NetlinkBuilder.build(type: UInt16(RTM_NEWLINK), flags: UInt16(NLM_F_REQUEST | NLM_F_ACK), sequence: sequence) { nlh in
            putLinkHeader(nlh, index: index, up: true)
        }
    }

    /// RTM_NEWLINK for a new bridge `name`. A bridge given its `mac` keeps it; without one
    /// it takes the lowest address of its ports, which changes as containers come and go, and
    /// every container's cached gateway address with it (their packets to the gateway are lost
    /// until the neighbour entry goes stale).
    public static func createBridge(name: String, mtu: UInt32?, mac: [UInt8]? = nil, sequence: UInt32) -> [UInt8] {
        NetlinkBuilder.build(type: UInt16(RTM_NEWLINK), flags: createFlags, sequence: sequence) { nlh in
            putLinkHeader(nlh, index: 0, up: false)
            mnl_attr_put_strz(nlh, UInt16(IFLA_IFNAME), name)
            if let mtu { mnl_attr_put_u32(nlh, UInt16(IFLA_MTU), mtu) }
            if let mac { mnl_attr_put(nlh, UInt16(IFLA_ADDRESS), mac.count, mac) }
            let info = mnl_attr_nest_start(nlh, UInt16(IFLA_LINKINFO))
            mnl_attr_put_strz(nlh, UInt16(IFLA_INFO_KIND), "bridge")
            mnl_attr_nest_end(nlh, info)
        }
    }

    /// One RTM_NEWLINK for a veth pair whose peer is born inside the network namespace of
    /// process `peerNamespacePID`, already named `peerName` there: no move, no name clash on
    /// the host. The host end is attached to `master` and brought up by the same request.
    public static func createVeth(name: String, peerName: String, peerNamespacePID: Int32, master: Int32?,
                                  mtu: UInt32?, sequence: UInt32) -> [UInt8] {
        createVeth(name: name, peerName: peerName, peerNamespace: .process(peerNamespacePID), master: master,
                   mtu: mtu, sequence: sequence)
    }

    /// The same request with the peer's namespace given by a process or by an open namespace
    /// file, and (`peerMAC`) the peer's hardware address.
    public static func createVeth(name: String, peerName: String, peerNamespace: PeerNamespace, peerMAC: [UInt8]? = nil,
                                  master: Int32?, mtu: UInt32?, sequence: UInt32) -> [UInt8] {
        NetlinkBuilder.build(type: UInt16(RTM_NEWLINK), flags: createFlags, sequence: sequence) { nlh in
            putLinkHeader(nlh, index: 0, up: true)
            mnl_attr_put_strz(nlh, UInt16(IFLA_IFNAME), name)
            if let mtu { mnl_attr_put_u32(nlh, UInt16(IFLA_MTU), mtu) }
            if let master { mnl_attr_put_u32(nlh, UInt16(IFLA_MASTER), UInt32(bitPattern: master)) }
            let info = mnl_attr_nest_start(nlh, UInt16(IFLA_LINKINFO))
            mnl_attr_put_strz(nlh, UInt16(IFLA_INFO_KIND), "veth")
            let data = mnl_attr_nest_start(nlh, UInt16(IFLA_INFO_DATA))
            let peer = mnl_attr_nest_start(nlh, UInt16(VETH_INFO_PEER))
            // The peer's attributes follow its own ifinfomsg inside the nest.
            let ifm = mnl_nlmsg_put_extra_header(nlh, MemoryLayout<ifinfomsg>.size)!.assumingMemoryBound(to: ifinfomsg.self)
            ifm.pointee.ifi_family = UInt8(AF_UNSPEC)
            mnl_attr_put_strz(nlh, UInt16(IFLA_IFNAME), peerName)
            if let mtu { mnl_attr_put_u32(nlh, UInt16(IFLA_MTU), mtu) }
            if let peerMAC { mnl_attr_put(nlh, UInt16(IFLA_ADDRESS), peerMAC.count, peerMAC) }
            switch peerNamespace {
            case .process(let pid): mnl_attr_put_u32(nlh, UInt16(IFLA_NET_NS_PID), UInt32(bitPattern: pid))
            case .file(let fd): mnl_attr_put_u32(nlh, UInt16(IFLA_NET_NS_FD), UInt32(bitPattern: fd))
            }
            mnl_attr_nest_end(nlh, peer)
            mnl_attr_nest_end(nlh, data)
            mnl_attr_nest_end(nlh, info)
        }
    }

    /// RTM_GETLINK for the link called `name` (ENODEV when there is none).
    public static func get(name: String, sequence: UInt32) -> [UInt8] {
        NetlinkBuilder.build(type: UInt16(RTM_GETLINK), flags: UInt16(NLM_F_REQUEST | NLM_F_ACK), sequence: sequence) { nlh in
            putLinkHeader(nlh, index: 0, up: false)
            mnl_attr_put_strz(nlh, UInt16(IFLA_IFNAME), name)
        }
    }

    /// RTM_GETLINK dump of every link.
    public static func dump(sequence: UInt32) -> [UInt8] {
        NetlinkBuilder.build(type: UInt16(RTM_GETLINK), flags: UInt16(NLM_F_REQUEST | NLM_F_DUMP), sequence: sequence) { nlh in
            putLinkHeader(nlh, index: 0, up: false)
        }
    }

    /// RTM_DELLINK of the link with index `index`.
    public static func delete(index: Int32, sequence: UInt32) -> [UInt8] {
        NetlinkBuilder.build(type: UInt16(RTM_DELLINK), flags: UInt16(NLM_F_REQUEST | NLM_F_ACK), sequence: sequence) { nlh in
            putLinkHeader(nlh, index: index, up: false)
        }
    }

    private static func putLinkHeader(_ nlh: UnsafeMutablePointer<nlmsghdr>, index: Int32, up: Bool) {
        let ifm = mnl_nlmsg_put_extra_header(nlh, MemoryLayout<ifinfomsg>.size)!.assumingMemoryBound(to: ifinfomsg.self)
        ifm.pointee.ifi_family = UInt8(AF_UNSPEC)
        ifm.pointee.ifi_index = index
        if up {
            ifm.pointee.ifi_flags = UInt32(IFF_UP)
            ifm.pointee.ifi_change = UInt32(IFF_UP)
        }
    }
}

/// rtnetlink requests about IPv4 and IPv6 addresses and routes.
public enum AddressRequests {
    /// RTM_NEWADDR: `address/prefix` on link `index`.
    public static func add(index: Int32, address: IPv4Address, prefix: Int, sequence: UInt32) -> [UInt8] {
        NetlinkBuilder.build(type: UInt16(RTM_NEWADDR), flags: LinkRequests.createFlags, sequence: sequence) { nlh in
            let ifa = mnl_nlmsg_put_extra_header(nlh, MemoryLayout<ifaddrmsg>.size)!.assumingMemoryBound(to: ifaddrmsg.self)
            ifa.pointee.ifa_family = UInt8(AF_INET)
            ifa.pointee.ifa_prefixlen = UInt8(prefix)
            ifa.pointee.ifa_scope = UInt8(RT_SCOPE_UNIVERSE.rawValue)
            ifa.pointee.ifa_index = UInt32(bitPattern: index)
            address.bytes.withUnsafeBytes { raw in
                mnl_attr_put(nlh, UInt16(IFA_LOCAL), 4, raw.baseAddress)
                mnl_attr_put(nlh, UInt16(IFA_ADDRESS), 4, raw.baseAddress)
            }
        }
    }

    /// RTM_NEWADDR: `address/prefix` on link `index`, as `ip -6 addr add ADDRESS/PREFIX dev LINK
    /// [nodad]` sends it: IFA_LOCAL and IFA_ADDRESS both the address, and with `noDAD` the flag
    /// IFA_F_NODAD in ifa_flags (iproute2 uses the IFA_FLAGS attribute only for flags above 0xff).
    /// Without duplicate address detection the address is usable at once instead of tentative
    /// for a second or more; a container's address is unique by its lease.
    public static func add(index: Int32, address: IPv6Address, prefix: Int, sequence: UInt32, noDAD: Bool = true) -> [UInt8] {
        NetlinkBuilder.build(type: UInt16(RTM_NEWADDR), flags: LinkRequests.createFlags, sequence: sequence) { nlh in
            let ifa = mnl_nlmsg_put_extra_header(nlh, MemoryLayout<ifaddrmsg>.size)!.assumingMemoryBound(to: ifaddrmsg.self)
            ifa.pointee.ifa_family = UInt8(AF_INET6)
            ifa.pointee.ifa_prefixlen = UInt8(prefix)
            if noDAD { ifa.pointee.ifa_flags = UInt8(IFA_F_NODAD) }
            ifa.pointee.ifa_scope = UInt8(RT_SCOPE_UNIVERSE.rawValue)
            ifa.pointee.ifa_index = UInt32(bitPattern: index)
            address.bytes.withUnsafeBytes { raw in
                mnl_attr_put(nlh, UInt16(IFA_LOCAL), 16, raw.baseAddress)
                mnl_attr_put(nlh, UInt16(IFA_ADDRESS), 16, raw.baseAddress)
            }
        }
    }

    /// RTM_GETADDR dump of the IPv4 addresses.
    public static func dump(sequence: UInt32) -> [UInt8] { dump(family: AF_INET, sequence: sequence) }

    /// RTM_GETADDR dump of the IPv6 addresses.
    public static func dump6(sequence: UInt32) -> [UInt8] { dump(family: AF_INET6, sequence: sequence) }

    private static func dump(family: Int32, sequence: UInt32) -> [UInt8] {
        NetlinkBuilder.build(type: UInt16(RTM_GETADDR), flags: UInt16(NLM_F_REQUEST | NLM_F_DUMP), sequence: sequence) { nlh in
            let ifa = mnl_nlmsg_put_extra_header(nlh, MemoryLayout<ifaddrmsg>.size)!.assumingMemoryBound(to: ifaddrmsg.self)
            ifa.pointee.ifa_family = UInt8(family)
        }
    }
}

public enum RouteRequests {
    /// RTM_NEWROUTE: the default route via `gateway` in the main table.
    public static func addDefault(gateway: IPv4Address, sequence: UInt32) -> [UInt8] {
        addDefault(family: AF_INET, gateway: gateway.bytes, sequence: sequence)
    }

    /// RTM_NEWROUTE: the IPv6 default route (::/0) via `gateway` in the main table. The kernel
    /// finds the link from the gateway, which must be on-link (inside an address's prefix).
    public static func addDefault(gateway: IPv6Address, sequence: UInt32) -> [UInt8] {
        addDefault(family: AF_INET6, gateway: gateway.bytes, sequence: sequence)
    }

    private static func addDefault(family: Int32, gateway: [UInt8], sequence: UInt32) -> [UInt8] {
        NetlinkBuilder.build(type: UInt16(RTM_NEWROUTE), flags: LinkRequests.createFlags, sequence: sequence) { nlh in
            let rtm = mnl_nlmsg_put_extra_header(nlh, MemoryLayout<rtmsg>.size)!.assumingMemoryBound(to: rtmsg.self)
            rtm.pointee.rtm_family = UInt8(family)
            rtm.pointee.rtm_dst_len = 0
            rtm.pointee.rtm_table = UInt8(RT_TABLE_MAIN.rawValue)
            rtm.pointee.rtm_protocol = UInt8(RTPROT_BOOT)
            rtm.pointee.rtm_scope = UInt8(RT_SCOPE_UNIVERSE.rawValue)
            rtm.pointee.rtm_type = UInt8(RTN_UNICAST)
            gateway.withUnsafeBytes { raw in mnl_attr_put(nlh, UInt16(RTA_GATEWAY.rawValue), raw.count, raw.baseAddress) }
        }
    }

    /// RTM_NEWROUTE with NLM_F_REPLACE: `destination` (nil: the default route) via `gateway` in
    /// the main table, made or replaced, so setting it twice is setting it once.
    public static func replace(destination: IPv4Network?, gateway: IPv4Address, sequence: UInt32) -> [UInt8] {
        NetlinkBuilder.build(type: UInt16(RTM_NEWROUTE), flags: UInt16(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE),
                             sequence: sequence) { nlh in
            let rtm = mnl_nlmsg_put_extra_header(nlh, MemoryLayout<rtmsg>.size)!.assumingMemoryBound(to: rtmsg.self)
            rtm.pointee.rtm_family = UInt8(AF_INET)
            rtm.pointee.rtm_dst_len = UInt8(destination?.prefix ?? 0)
            rtm.pointee.rtm_table = UInt8(RT_TABLE_MAIN.rawValue)
            rtm.pointee.rtm_protocol = UInt8(RTPROT_STATIC)
            rtm.pointee.rtm_scope = UInt8(RT_SCOPE_UNIVERSE.rawValue)
            rtm.pointee.rtm_type = UInt8(RTN_UNICAST)
            if let destination {
                destination.network.bytes.withUnsafeBytes { raw in mnl_attr_put(nlh, UInt16(RTA_DST.rawValue), raw.count, raw.baseAddress) }
            }
            gateway.bytes.withUnsafeBytes { raw in mnl_attr_put(nlh, UInt16(RTA_GATEWAY.rawValue), raw.count, raw.baseAddress) }
        }
    }

    /// RTM_GETROUTE dump of the IPv4 routes (every table).
    public static func dump(sequence: UInt32) -> [UInt8] { dump(family: AF_INET, sequence: sequence) }

    /// RTM_GETROUTE dump of the IPv6 routes (every table).
    public static func dump6(sequence: UInt32) -> [UInt8] { dump(family: AF_INET6, sequence: sequence) }

    private static func dump(family: Int32, sequence: UInt32) -> [UInt8] {
        NetlinkBuilder.build(type: UInt16(RTM_GETROUTE), flags: UInt16(NLM_F_REQUEST | NLM_F_DUMP), sequence: sequence) { nlh in
            let rtm = mnl_nlmsg_put_extra_header(nlh, MemoryLayout<rtmsg>.size)!.assumingMemoryBound(to: rtmsg.self)
            rtm.pointee.rtm_family = UInt8(family)
        }
    }
}

/// Builds one netlink message in a zeroed buffer with libmnl and returns its bytes.
enum NetlinkBuilder {
    static func build(type: UInt16, flags: UInt16, sequence: UInt32,
                      _ body: (UnsafeMutablePointer<nlmsghdr>) -> Void) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: Int(cmnl_socket_buffer_size()))
        return buffer.withUnsafeMutableBytes { raw in
            let nlh = mnl_nlmsg_put_header(raw.baseAddress)!
            nlh.pointee.nlmsg_type = type
            nlh.pointee.nlmsg_flags = flags
            nlh.pointee.nlmsg_seq = sequence
            body(nlh)
            return Array(raw[0..<Int(nlh.pointee.nlmsg_len)])
        }
    }
}
