import CLibmnl
#if canImport(Glibc)
import Glibc
#endif

/// rtnetlink requests about links, built with libmnl.
public enum LinkRequests {
    /// RTM_NEWLINK that sets IFF_UP on the link with index `index`.
    public static func setUp(index: Int32, sequence: UInt32) -> [UInt8] {
        NetlinkBuilder.build(type: UInt16(RTM_NEWLINK), flags: UInt16(NLM_F_REQUEST | NLM_F_ACK), sequence: sequence) { nlh in
            let ifm = mnl_nlmsg_put_extra_header(nlh, MemoryLayout<ifinfomsg>.size)!
                .assumingMemoryBound(to: ifinfomsg.self)
            ifm.pointee.ifi_family = UInt8(AF_UNSPEC)
            ifm.pointee.ifi_index = index
            ifm.pointee.ifi_flags = UInt32(IFF_UP)
            ifm.pointee.ifi_change = UInt32(IFF_UP)
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
