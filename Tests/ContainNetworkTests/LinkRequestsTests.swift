import CLibmnl
import Glibc
import Testing
@testable import ContainNetwork

/// Records every request instead of talking to the kernel.
final class RecordingTransport: NetlinkTransport {
    var requests: [(bytes: [UInt8], operation: String)] = []
    var sequence: UInt32 = 100
    var failWith: Int32?

    func nextSequence() -> UInt32 { sequence += 1; return sequence }

    func execute(_ request: [UInt8], operation: String) throws -> [[UInt8]] {
        requests.append((request, operation))
        if let failWith { throw NetlinkFailure(operation: operation, errno: failWith) }
        return []
    }
}

struct NetlinkFailure: Error { let operation: String; let errno: Int32 }

@Suite struct LinkRequestsTests {
    @Test func setUpIsOneNewlinkWithIffUp() {
        let bytes = LinkRequests.setUp(index: 1, sequence: 0x0102_0304)
        // struct nlmsghdr: len 32, type RTM_NEWLINK (16), flags REQUEST|ACK (5), seq, pid 0
        // struct ifinfomsg: family AF_UNSPEC, pad, type 0, index 1, flags IFF_UP, change IFF_UP
        #expect(bytes == [
            32, 0, 0, 0, 16, 0, 5, 0, 4, 3, 2, 1, 0, 0, 0, 0,
            0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,
        ])
        let message = NetlinkMessage.split(bytes)
        #expect(message.count == 1)
        #expect(message.first?.type == UInt16(RTM_NEWLINK))
        #expect(message.first?.sequence == 0x0102_0304)
    }

    @Test func linksSendThroughTheTransport() throws {
        let transport = RecordingTransport()
        try Rtnetlink(transport: transport).setUp(index: Rtnetlink.loopbackIndex)
        #expect(transport.requests.count == 1)
        #expect(transport.requests[0].operation == "netlink: set link 1 up")
        #expect(transport.requests[0].bytes == LinkRequests.setUp(index: 1, sequence: 101))
    }

    @Test func splitsADatagramOfSeveralMessages() {
        var ack: [UInt8] = [36, 0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 9, 0, 0, 0]
        ack += [0xfe, 0xff, 0xff, 0xff]              // error -2 (ENOENT)
        ack += [UInt8](repeating: 0, count: 16)       // the original header
        let done: [UInt8] = [20, 0, 0, 0, 3, 0, 2, 0, 8, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0]
        let messages = NetlinkMessage.split(ack + done)
        #expect(messages.count == 2)
        #expect(messages[0].type == UInt16(NLMSG_ERROR))
        #expect(messages[0].errorCode == -ENOENT)
        #expect(messages[1].type == UInt16(NLMSG_DONE))
        #expect(messages[1].sequence == 8)
        #expect(NetlinkMessage.split([1, 2, 3]).isEmpty)
        #expect(NetlinkMessage.split([200, 0, 0, 0] + [UInt8](repeating: 0, count: 12)).isEmpty)
    }
}
