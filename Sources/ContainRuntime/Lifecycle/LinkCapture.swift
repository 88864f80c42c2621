import ContainNetwork
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain net capture`: the packets on a container's link or a network's bridge, read on the
/// host's side (the host end of the veth, or the bridge), so the container is never entered and
/// its own view of its interfaces is never changed.
public enum LinkCapture {
    /// Where to capture, and how to name it to the user.
    public struct Source: Sendable {
        public var interface: String
        public var description: String
    }

    /// TARGET: a running container (its eth0), `CONTAINER:IFACE`, or a network (its bridge).
    public static func source(_ reference: String, stateRoot: String, manager: NetworkManager) throws -> Source {
        let containerName = reference.lastIndex(of: ":").map { String(reference[..<$0]) } ?? reference
        let isContainer = (try? ContainerRecord.find(stateRoot: stateRoot, containerName)) != nil
        if isContainer || reference.contains(":") {
            let targets = try LinkImpairments.targets(reference, stateRoot: stateRoot, manager: manager)
            guard targets.count == 1, let target = targets.first else {
                throw RunFailure.runtime("`\(reference)` names \(targets.count) links; name one as CONTAINER:IFACE")
            }
            return Source(interface: target.hostInterface,
                          description: "\(target.container)'s \(target.containerInterface) on network \(target.network)")
        }
        guard let status = try manager.status().first(where: { $0.definition.name == reference }) else {
            throw RunFailure.runtime("no such container or network: \(reference)")
        }
        guard status.bridge != nil else {
            throw RunFailure.runtime("network \(reference) has no bridge yet: it is made when the first container joins")
        }
        return Source(interface: status.definition.bridge, description: "network \(reference)")
    }

    public struct Summary: Sendable {
        /// Packets written or printed.
        public var captured = 0
        /// Packets the filter passed, and those the kernel dropped (libpcap's counts).
        public var received = 0
        public var dropped = 0
        /// Why the capture ended early (its link went away), if it did.
        public var ended: String?
    }

    /// Captures until `count` packets, `microseconds` of time, a SIGINT/SIGTERM/SIGHUP or the
    /// link's end, whichever comes first. Each packet goes to `file` (a pcap file; `-` is
    /// standard output) or, without one, to `printLine` as tcpdump would print it. `listening`
    /// is called once the capture is open, before any packet is read.
    public static func run(_ source: Source, filter: String?, file: String?, count: Int?, microseconds: UInt64?,
                           listening: (String) -> Void, printLine: (String) -> Void) throws -> Summary {
        // Signals first: a Ctrl-C as soon as "listening" shows still ends the capture cleanly.
        let signals = try SignalFD(signals: [SIGINT, SIGTERM, SIGHUP])
        let capture = try PacketCapture(interface: source.interface, filter: filter)
        defer { capture.close() }
        let writer = try file.map { path throws(NetworkError) in
            let writer = try PcapWriter(path: path, linkType: capture.linkType, snapshotLength: capture.snapshotLength)
            try writer.flush()   // the file's header: a file that cannot be written fails here, not at the end
            return writer
        }
        listening("listening on \(source.interface) (\(source.description)), link-type \(linkTypeName(capture.linkType)), snapshot length \(capture.snapshotLength) bytes")
        let deadline = microseconds.map { MonotonicClock.microseconds + $0 }
        let utcOffset = PacketDecoder.localUTCOffset(at: time(nil))
        var summary = Summary()
        loop: while count.map({ summary.captured < $0 }) ?? true {
            var wait: Int32 = 1000
            if let deadline {
                let now = MonotonicClock.microseconds
                if now >= deadline { break }
                wait = Int32(min(UInt64(wait), (deadline - now + 999) / 1000))
            }
            var fds = [pollfd(fd: capture.descriptor, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: signals.fd, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, wait)
            if ready < 0 {
                if errno == EINTR { continue }
                throw SystemError("poll", errno: errno)
            }
            if fds[1].revents != 0, try signals.next() != nil { break }
            if ready == 0 {
                // Quiet: make sure the link is still there (a deleted veth does not always wake
                // a packet socket).
                if if_nametoindex(source.interface) == 0 { summary.ended = "\(source.description) went away"; break }
                continue
            }
            var read = 0
            do {
                while count.map({ summary.captured < $0 }) ?? true, let packet = try capture.next() {
                    summary.captured += 1
                    read += 1
                    if let writer {
                        writer.write(packet)
                    } else {
                        printLine(PacketDecoder.line(packet.frame, linkType: capture.linkType,
                                                     timestamp: (packet.seconds, packet.microseconds),
                                                     originalLength: packet.length, utcOffset: utcOffset))
                    }
                }
            } catch {
                summary.ended = "\(source.description) went away (\(error))"
                break loop
            }
            try writer?.flush()
            if read == 0, fds[0].revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 {
                summary.ended = "\(source.description) went away"
                break
            }
        }
        if let counts = capture.statistics() { (summary.received, summary.dropped) = counts }
        try writer?.close()
        return summary
    }

    /// tcpdump's closing lines.
    public static func report(_ summary: Summary) -> [String] {
        func packets(_ n: Int) -> String { n == 1 ? "1 packet" : "\(n) packets" }
        return ["\(packets(summary.captured)) captured", "\(packets(summary.received)) received by filter",
                "\(packets(summary.dropped)) dropped by kernel"]
    }

    static func linkTypeName(_ linkType: Int32) -> String {
        switch linkType {
        case LinkType.ethernet: return "EN10MB (Ethernet)"
        case LinkType.raw: return "RAW (Raw IP)"
        case LinkType.linuxSLL: return "LINUX_SLL (Linux cooked v1)"
        default: return "\(linkType)"
        }
    }
}
