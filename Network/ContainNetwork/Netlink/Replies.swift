import CLibmnl
#if canImport(Glibc)
import Glibc
#endif

/// What the kernel says about a link (RTM_NEWLINK replies).
public struct LinkInfo: Equatable, Sendable {
    public var index: Int32
    public var name: String
    public var flags: UInt32
    public var master: Int32?
    public var mtu: UInt32?
    public var mac: [UInt8]
    public var stats: LinkStats?
    /// IFLA_OPERSTATE (RFC 2863): IF_OPER_UP once the kernel has processed the carrier, which is
    /// also when a bridge starts forwarding for the port.
    public var operState: UInt8?

    public var isUp: Bool { flags & UInt32(IFF_UP) != 0 }
    public var isOperationallyUp: Bool { operState == UInt8(IF_OPER_UP) }
}

public struct LinkStats: Equatable, Sendable {
    public var rxPackets: UInt64, txPackets: UInt64, rxBytes: UInt64, txBytes: UInt64
    /// rtnl_link_stats64's errors and drops, both directions.
    public var rxErrors: UInt64 = 0, txErrors: UInt64 = 0, rxDropped: UInt64 = 0, txDropped: UInt64 = 0

    public init(rxPackets: UInt64, txPackets: UInt64, rxBytes: UInt64, txBytes: UInt64,
                rxErrors: UInt64 = 0, txErrors: UInt64 = 0, rxDropped: UInt64 = 0, txDropped: UInt64 = 0) {
        self.rxPackets = rxPackets
        self.txPackets = txPackets
        self.rxBytes = rxBytes
        self.txBytes = txBytes
        self.rxErrors = rxErrors
        self.txErrors = txErrors
        self.rxDropped = rxDropped
        self.txDropped = txDropped
    }
}

/// An IPv4 address on a link, or an IPv4 route's destination.
public struct AddressInfo: Equatable, Sendable {
    public var index: Int32
    public var network: IPv4Network
    public var address: IPv4Address
}

/// Reads rtnetlink replies: the fixed header, then attributes walked with libmnl.
public enum Replies {
    public static func link(_ bytes: [UInt8]) -> LinkInfo? {
        bytes.withUnsafeBytes { raw -> LinkInfo? in
            guard raw.count >= MemoryLayout<nlmsghdr>.size + MemoryLayout<ifinfomsg>.size else { return nil }
            let nlh = UnsafeMutableRawPointer(mutating: raw.baseAddress!).assumingMemoryBound(to: nlmsghdr.self)
            guard nlh.pointee.nlmsg_type == UInt16(RTM_NEWLINK) else { return nil }
            let ifm = mnl_nlmsg_get_payload(nlh)!.assumingMemoryBound(to: ifinfomsg.self)
            var info = LinkInfo(index: ifm.pointee.ifi_index, name: "", flags: ifm.pointee.ifi_flags, master: nil, mtu: nil, mac: [], stats: nil)
            for (type, payload) in attributes(nlh, headerSize: MemoryLayout<ifinfomsg>.size) {
                switch Int(type) {
                case Int(IFLA_IFNAME): info.name = string(payload)
                case Int(IFLA_MASTER): info.master = payload.count >= 4 ? payload.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) } : nil
                case Int(IFLA_MTU): info.mtu = payload.count >= 4 ? payload.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } : nil
                case Int(IFLA_ADDRESS): info.mac = payload
                case Int(IFLA_OPERSTATE): info.operState = payload.first
                case Int(IFLA_STATS64) where payload.count >= 32:
                    let count = min(8, payload.count / 8)
                    let s = payload.withUnsafeBytes { r in (0..<count).map { r.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) } }
                    info.stats = LinkStats(rxPackets: s[0], txPackets: s[1], rxBytes: s[2], txBytes: s[3])
                    if count == 8 {
                        info.stats?.rxErrors = s[4]
                        info.stats?.txErrors = s[5]
                        info.stats?.rxDropped = s[6]
                        info.stats?.txDropped = s[7]
                    }
                default: break
                }
            }
            return info
        }
    }

    public static func address(_ bytes: [UInt8]) -> AddressInfo? {
        bytes.withUnsafeBytes { raw -> AddressInfo? in
            guard raw.count >= MemoryLayout<nlmsghdr>.size + MemoryLayout<ifaddrmsg>.size else { return nil }
            let nlh = UnsafeMutableRawPointer(mutating: raw.baseAddress!).assumingMemoryBound(to: nlmsghdr.self)
            guard nlh.pointee.nlmsg_type == UInt16(RTM_NEWADDR) else { return nil }
            let ifa = mnl_nlmsg_get_payload(nlh)!.assumingMemoryBound(to: ifaddrmsg.self)
            guard ifa.pointee.ifa_family == UInt8(AF_INET) else { return nil }
            var local: IPv4Address?
            for (type, payload) in attributes(nlh, headerSize: MemoryLayout<ifaddrmsg>.size) where payload.count == 4 {
                if type == UInt16(IFA_LOCAL) || (type == UInt16(IFA_ADDRESS) && local == nil) { local = IPv4Address(bytes: payload) }
            }
            guard let local else { return nil }
            let prefix = Int(ifa.pointee.ifa_prefixlen)
            return AddressInfo(index: Int32(bitPattern: ifa.pointee.ifa_index),
                               network: IPv4Network(network: local, prefix: prefix), address: local)
        }
    }

    /// An IPv6 address on a link (nil for other families). The kernel sends IFA_ADDRESS, and
    /// IFA_LOCAL as well only for point-to-point addresses, where IFA_LOCAL is the link's own.
    public static func address6(_ bytes: [UInt8]) -> (index: Int32, address: IPv6Address, prefix: Int)? {
        bytes.withUnsafeBytes { raw -> (index: Int32, address: IPv6Address, prefix: Int)? in
            guard raw.count >= MemoryLayout<nlmsghdr>.size + MemoryLayout<ifaddrmsg>.size else { return nil }
            let nlh = UnsafeMutableRawPointer(mutating: raw.baseAddress!).assumingMemoryBound(to: nlmsghdr.self)
            guard nlh.pointee.nlmsg_type == UInt16(RTM_NEWADDR) else { return nil }
            let ifa = mnl_nlmsg_get_payload(nlh)!.assumingMemoryBound(to: ifaddrmsg.self)
            guard ifa.pointee.ifa_family == UInt8(AF_INET6) else { return nil }
            var local: IPv6Address?
            for (type, payload) in attributes(nlh, headerSize: MemoryLayout<ifaddrmsg>.size) where payload.count == 16 {
                if type == UInt16(IFA_LOCAL) || (type == UInt16(IFA_ADDRESS) && local == nil) { local = IPv6Address(bytes: payload) }
            }
            guard let local else { return nil }
            return (Int32(bitPattern: ifa.pointee.ifa_index), local, Int(ifa.pointee.ifa_prefixlen))
        }
    }

    /// A route's destination network (nil for the default route and non-IPv4 routes).
    public static func routeDestination(_ bytes: [UInt8]) -> IPv4Network? {
        bytes.withUnsafeBytes { raw -> IPv4Network? in
            guard raw.count >= MemoryLayout<nlmsghdr>.size + MemoryLayout<rtmsg>.size else { return nil }
            let nlh = UnsafeMutableRawPointer(mutating: raw.baseAddress!).assumingMemoryBound(to: nlmsghdr.self)
            guard nlh.pointee.nlmsg_type == UInt16(RTM_NEWROUTE) else { return nil }
            let rtm = mnl_nlmsg_get_payload(nlh)!.assumingMemoryBound(to: rtmsg.self)
            guard rtm.pointee.rtm_family == UInt8(AF_INET), rtm.pointee.rtm_dst_len > 0,
                  rtm.pointee.rtm_type == UInt8(RTN_UNICAST) else { return nil }
            for (type, payload) in attributes(nlh, headerSize: MemoryLayout<rtmsg>.size) where type == UInt16(RTA_DST.rawValue) && payload.count == 4 {
                return IPv4Network(network: IPv4Address(bytes: payload), prefix: Int(rtm.pointee.rtm_dst_len))
            }
            return nil
        }
    }

    /// An IPv6 unicast route's destination network (nil for the default route, other route
    /// types such as local, anycast, multicast or unreachable, and other families).
    public static func routeDestination6(_ bytes: [UInt8]) -> IPv6Network? {
        bytes.withUnsafeBytes { raw -> IPv6Network? in
            guard raw.count >= MemoryLayout<nlmsghdr>.size + MemoryLayout<rtmsg>.size else { return nil }
            let nlh = UnsafeMutableRawPointer(mutating: raw.baseAddress!).assumingMemoryBound(to: nlmsghdr.self)
            guard nlh.pointee.nlmsg_type == UInt16(RTM_NEWROUTE) else { return nil }
            let rtm = mnl_nlmsg_get_payload(nlh)!.assumingMemoryBound(to: rtmsg.self)
            guard rtm.pointee.rtm_family == UInt8(AF_INET6), rtm.pointee.rtm_dst_len > 0,
                  rtm.pointee.rtm_type == UInt8(RTN_UNICAST) else { return nil }
            for (type, payload) in attributes(nlh, headerSize: MemoryLayout<rtmsg>.size) where type == UInt16(RTA_DST.rawValue) {
                guard let destination = IPv6Address(bytes: payload) else { return nil }
                return IPv6Network(network: destination, prefix: Int(rtm.pointee.rtm_dst_len))
            }
            return nil
        }
    }

    /// The top-level attributes after the family header, as (type, payload) pairs.
    static func attributes(_ nlh: UnsafeMutablePointer<nlmsghdr>, headerSize: Int) -> [(UInt16, [UInt8])] {
        var result: [(UInt16, [UInt8])] = []
        let start = mnl_nlmsg_get_payload_offset(nlh, headerSize)!
        let end = UnsafeMutableRawPointer(nlh) + Int(nlh.pointee.nlmsg_len)
        var attr = start.assumingMemoryBound(to: nlattr.self)
        while mnl_attr_ok(attr, Int32(end - UnsafeMutableRawPointer(attr))) {
            let type = mnl_attr_get_type(attr)
            let length = Int(mnl_attr_get_payload_len(attr))
            let payload = mnl_attr_get_payload(attr)!
            result.append((type, Array(UnsafeRawBufferPointer(start: payload, count: length))))
            attr = mnl_attr_next(attr)
        }
        return result
    }

    static func string(_ payload: [UInt8]) -> String {
        String(decoding: payload.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
}
