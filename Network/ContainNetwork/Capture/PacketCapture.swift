import CLibpcap
#if canImport(Glibc)
import Glibc
#endif

/// One captured packet: its bytes (perhaps cut by the snapshot length), when, and its length on
/// the wire.
public struct CapturedPacket: Sendable {
    public var frame: [UInt8]
    public var seconds: Int
    public var microseconds: Int
    public var length: Int

    public init(frame: [UInt8], seconds: Int, microseconds: Int, length: Int) {
        self.frame = frame
        self.seconds = seconds
        self.microseconds = microseconds
        self.length = length
    }
}

/// A live capture on one interface through libpcap (loaded on first use, see CLibpcap): what a
/// packet socket sees, filtered in the kernel by a program libpcap compiles from tcpdump's
/// filter syntax. The interface is looked up in the creating thread's network namespace.
///
/// Reading never blocks: `next()` is nil when nothing waits; poll `descriptor` to wait. One
/// owner reads and closes.
public final class PacketCapture {
    private var capture: OpaquePointer?
    public let interface: String
    public let snapshotLength: Int32
    public let linkType: Int32

    public static let defaultSnapshotLength: Int32 = 262_144

    public init(interface: String, filter: String?, snapshotLength: Int32 = defaultSnapshotLength) throws(NetworkError) {
        self.interface = interface
        self.snapshotLength = snapshotLength
        var status: Int32 = 0
        let opened = libpcapCall { error, size in contain_pcap_open(interface, snapshotLength, filter, &status, error, size) }
        guard let handle = opened.result else {
            switch status {
            case Int32(CONTAIN_PCAP_UNAVAILABLE): throw .invalid("capture: \(opened.message)")
            case Int32(CONTAIN_PCAP_BAD_FILTER): throw .invalid("invalid capture filter `\(filter ?? "")`: \(opened.message)")
            case Int32(CONTAIN_PCAP_NO_SUCH_DEVICE): throw .notFound("capture on \(interface): no such interface")
            case Int32(CONTAIN_PCAP_PERMISSION): throw .invalid("capture on \(interface): permission denied (capture needs root or CAP_NET_RAW)")
            case Int32(CONTAIN_PCAP_INTERFACE_DOWN): throw .invalid("capture on \(interface): the interface is down")
            default: throw .invalid("capture on \(interface): \(opened.message)")
            }
        }
        capture = handle
        linkType = contain_pcap_link_type(handle)
    }

    deinit { close() }

    /// Refuses a filter libpcap cannot compile, before anything is opened (for Ethernet frames:
    /// what bridges and veths carry).
    public static func checkFilter(_ filter: String, linkType: Int32 = LinkType.ethernet) throws(NetworkError) {
        let checked = libpcapCall { error, size in contain_pcap_check_filter(filter, linkType, error, size) }
        switch checked.result {
        case 0: return
        case Int32(CONTAIN_PCAP_BAD_FILTER): throw .invalid("invalid capture filter `\(filter)`: \(checked.message)")
        default: throw .invalid("capture: \(checked.message)")
        }
    }

    /// Polls readable when packets wait; -1 once closed.
    public var descriptor: Int32 { capture.map { contain_pcap_fd($0) } ?? -1 }

    /// The next waiting packet; nil when none waits. Throws when the capture broke, for
    /// instance because its interface was deleted.
    public func next() throws(NetworkError) -> CapturedPacket? {
        guard let capture else { return nil }
        var packet = contain_pcap_packet()
        let read = libpcapCall { error, size in contain_pcap_next(capture, &packet, error, size) }
        guard read.result == 1 else {
            if read.result == 0 { return nil }
            throw .invalid("capture on \(interface): \(read.message)")
        }
        let frame = packet.data.map { Array(UnsafeBufferPointer(start: $0, count: Int(packet.captured))) } ?? []
        return CapturedPacket(frame: frame, seconds: Int(packet.seconds), microseconds: Int(packet.microseconds),
                              length: Int(packet.length))
    }

    /// Packets the filter passed, and those the kernel dropped for want of buffer space.
    public func statistics() -> (received: Int, dropped: Int)? {
        guard let capture else { return nil }
        var received: UInt32 = 0, dropped: UInt32 = 0
        guard contain_pcap_stats(capture, &received, &dropped) == 0 else { return nil }
        return (Int(received), Int(dropped))
    }

    /// Closes the capture; idempotent.
    public func close() {
        contain_pcap_close(capture)
        capture = nil
    }
}

/// A pcap file as `tcpdump -w` writes it (microsecond time stamps), through libpcap. `-` is
/// standard output.
public final class PcapWriter {
    private var file: OpaquePointer?
    public let path: String

    public init(path: String, linkType: Int32 = LinkType.ethernet,
                snapshotLength: Int32 = PacketCapture.defaultSnapshotLength) throws(NetworkError) {
        self.path = path
        let created = libpcapCall { error, size in contain_pcap_file_create(path, linkType, snapshotLength, error, size) }
        guard let file = created.result else { throw .invalid("cannot write capture file \(path): \(created.message)") }
        self.file = file
    }

    deinit { try? close() }

    public func write(_ packet: CapturedPacket) {
        guard let file else { return }
        packet.frame.withUnsafeBufferPointer { bytes in
            var header = contain_pcap_packet(seconds: Int64(packet.seconds), microseconds: Int64(packet.microseconds),
                                             captured: UInt32(truncatingIfNeeded: bytes.count),
                                             length: UInt32(truncatingIfNeeded: packet.length), data: bytes.baseAddress)
            contain_pcap_file_write(file, &header)
        }
    }

    /// Pushes what is buffered to the file, so a reader sees whole packets while capture goes on.
    public func flush() throws(NetworkError) {
        guard let file, contain_pcap_file_flush(file) != 0 else { return }
        throw .invalid("cannot write capture file \(path): \(String(cString: strerror(errno)))")
    }

    /// Flushes and closes; idempotent.
    public func close() throws(NetworkError) {
        guard let file else { return }
        self.file = nil
        if contain_pcap_file_close(file) != 0 {
            throw .invalid("cannot write capture file \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// Calls into CLibpcap with an error buffer; the result and the buffer's message.
private func libpcapCall<T>(_ body: (UnsafeMutablePointer<CChar>, Int) -> T) -> (result: T, message: String) {
    var buffer = [CChar](repeating: 0, count: 512)
    let result = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
    let message = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return (result, message)
}
