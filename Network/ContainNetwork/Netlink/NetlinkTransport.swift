import CLibmnl
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// The one seam between request building and the kernel: send a request, get its replies.
/// `MnlSocket` is the real one; tests record requests with a fake and compare exact bytes.
public protocol NetlinkTransport: AnyObject {
    /// Sends `request` (a complete netlink message with NLM_F_ACK) and returns the reply
    /// messages that came before the acknowledgement. A kernel error is thrown as SystemError.
    func execute(_ request: [UInt8], operation: String) throws -> [[UInt8]]
    func nextSequence() -> UInt32
}

/// A NETLINK_ROUTE socket through libmnl, bound to the network namespace of the thread that
/// opened it.
public final class MnlSocket: NetlinkTransport {
    private let socket: OpaquePointer
    private let portID: UInt32
    private var sequence: UInt32

    public init(protocol netlinkProtocol: Int32 = NETLINK_ROUTE) throws {
        guard let s = mnl_socket_open2(netlinkProtocol, Int32(SOCK_CLOEXEC.rawValue)) else {
            throw SystemError.last("open netlink socket")
        }
        if mnl_socket_bind(s, 0, pid_t(MNL_SOCKET_AUTOPID)) < 0 {
            let error = SystemError.last("bind netlink socket")
            mnl_socket_close(s)
            throw error
        }
        socket = s
        portID = mnl_socket_get_portid(s)
        sequence = UInt32(truncatingIfNeeded: time(nil))
    }

    deinit { mnl_socket_close(socket) }

    /// Sends an nfnetlink batch and waits for its `acknowledgements` replies (one per message
    /// that asked for one); throws the first error the kernel reports. The kernel applies a
    /// batch whole or not at all. A 5 s receive timeout guards against a reply that never comes.
    public func executeBatch(_ batch: [UInt8], acknowledgements: Int, operation: String) throws {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        _ = setsockopt(mnl_socket_get_fd(socket), SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let sent = batch.withUnsafeBytes { mnl_socket_sendto(socket, $0.baseAddress, $0.count) }
        if sent < 0 { throw SystemError.last(operation) }
        var remaining = acknowledgements
        var firstError: Int32 = 0
        var buffer = [UInt8](repeating: 0, count: Int(cmnl_socket_buffer_size()))
        while remaining > 0 {
            let n = buffer.withUnsafeMutableBytes { mnl_socket_recvfrom(socket, $0.baseAddress, $0.count) }
            if n < 0 { throw SystemError.last(operation) }
            for message in NetlinkMessage.split(Array(buffer[0..<n])) where message.type == UInt16(NLMSG_ERROR) {
                remaining -= 1
                if message.errorCode != 0 && firstError == 0 { firstError = -message.errorCode }
            }
        }
        if firstError != 0 { throw SystemError(operation, errno: firstError) }
    }

    public func nextSequence() -> UInt32 {
        sequence &+= 1
        return sequence
    }

    public func execute(_ request: [UInt8], operation: String) throws -> [[UInt8]] {
        let sent = request.withUnsafeBytes { mnl_socket_sendto(socket, $0.baseAddress, $0.count) }
        if sent < 0 { throw SystemError.last(operation) }
        let seq = request.withUnsafeBytes { $0.load(fromByteOffset: 8, as: UInt32.self) }
        var replies: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: Int(cmnl_socket_buffer_size()))
        while true {
            let n = buffer.withUnsafeMutableBytes { mnl_socket_recvfrom(socket, $0.baseAddress, $0.count) }
            if n < 0 { throw SystemError.last(operation) }
            let messages = NetlinkMessage.split(Array(buffer[0..<n]))
            for message in messages {
                guard message.sequence == seq, message.portID == portID || message.portID == 0 else { continue }
                switch message.type {
                case UInt16(NLMSG_ERROR):
                    let code = message.errorCode
                    if code == 0 { return replies }
                    throw SystemError(operation, errno: -code)
                case UInt16(NLMSG_DONE):
                    return replies
                default:
                    replies.append(message.bytes)
                }
            }
        }
    }
}

/// A view of one netlink message in a receive buffer.
public struct NetlinkMessage: Sendable {
    public let bytes: [UInt8]

    public var length: Int { Int(field(UInt32.self, at: 0)) }
    public var type: UInt16 { field(UInt16.self, at: 4) }
    public var flags: UInt16 { field(UInt16.self, at: 6) }
    public var sequence: UInt32 { field(UInt32.self, at: 8) }
    public var portID: UInt32 { field(UInt32.self, at: 12) }
    /// For NLMSG_ERROR: the negative errno, or 0 for an acknowledgement.
    public var errorCode: Int32 { bytes.count >= 20 ? field(Int32.self, at: 16) : -EIO }

    private func field<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }

    /// Splits a datagram into its messages (NLMSG_ALIGN'd, 4 bytes).
    public static func split(_ datagram: [UInt8]) -> [NetlinkMessage] {
        var result: [NetlinkMessage] = []
        var offset = 0
        while datagram.count - offset >= 16 {
            let length = datagram.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
            guard length >= 16, offset + length <= datagram.count else { break }
            result.append(NetlinkMessage(bytes: Array(datagram[offset..<offset + length])))
            offset += (length + 3) & ~3
        }
        return result
    }
}
