import CContainShim
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// One end of the parent/init socketpair. Each message is one SOCK_SEQPACKET datagram.
public final class SyncChannel {
    public let fd: Int32
    private var open = true

    public init(fd: Int32) { self.fd = fd }

    /// A connected pair, both ends close-on-exec (cshim_spawn moves the child's end to fd 3).
    public static func pair() throws -> (parent: SyncChannel, child: SyncChannel) {
        var fds: [Int32] = [0, 0]
        try sys("socketpair") { socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) }
        return (SyncChannel(fd: fds[0]), SyncChannel(fd: fds[1]))
    }

    /// A descriptor that came with the last message received (`terminal`'s pty master), for
    /// the caller to take; -1 when none did.
    public private(set) var receivedFD: Int32 = -1

    /// Takes the descriptor that came with the last message.
    public func takeReceivedFD() -> Int32 {
        defer { receivedFD = -1 }
        return receivedFD
    }

    /// Sends `message`, with `passing` (a descriptor) alongside it when given.
    public func send(_ message: SyncMessage, passing passed: Int32 = -1) throws {
        let bytes = message.encoded()
        let n = try sys("send sync message \(message.name)") {
            bytes.withUnsafeBytes { Int(cshim_send_with_fd(fd, $0.baseAddress, UInt($0.count), passed)) }
        }
        if n != bytes.count { throw SystemError("send sync message \(message.name)", errno: EMSGSIZE) }
    }

    /// The next message, or nil at end of file (the other end closed: exec succeeded or it died).
    public func receive() throws -> SyncMessage? {
        // Peek with MSG_TRUNC for the datagram's full size, then read it whole.
        var probe: UInt8 = 0
        let size = try sys("receive sync message") { recv(fd, &probe, 0, Int32(MSG_PEEK | MSG_TRUNC)) }
        if size == 0 {
            // Zero could be an empty datagram or EOF; a real message always has a kind byte.
            let n = try sys("receive sync message") { recv(fd, &probe, 1, 0) }
            if n == 0 { return nil }
            throw SyncDecodingError(description: "empty sync message")
        }
        var buffer = [UInt8](repeating: 0, count: size)
        var passed: Int32 = -1
        let n = try sys("receive sync message") {
            buffer.withUnsafeMutableBytes { Int(cshim_receive_with_fd(fd, $0.baseAddress, UInt($0.count), 0, &passed)) }
        }
        if passed >= 0 {
            if receivedFD >= 0 { Glibc.close(receivedFD) }
            receivedFD = passed
        }
        return try SyncMessage(decoding: Array(buffer[0..<n]))
    }

    /// Receives the next message and insists on `expected`, naming both when it differs.
    public func expect(_ expected: String) throws -> SyncMessage {
        guard let message = try receive() else {
            throw SyncDecodingError(description: "sync: expected \(expected), got end of file")
        }
        guard message.name == expected else {
            throw SyncDecodingError(description: "sync: expected \(expected), got \(message.name)")
        }
        return message
    }

    public func close() {
        if open { Glibc.close(fd); open = false }
    }

    deinit {
        close()
        if receivedFD >= 0 { Glibc.close(receivedFD) }
    }
}
