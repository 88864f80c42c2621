/// What `contain attach` and a detached container's supervisor say to each other over the
/// record's `attach.sock` (a Unix stream socket, mode 0600). Every message is one frame:
///
///     [kind u8][length u32 little-endian][payload: length bytes]
///
///     supervisor → client
///       hello      1  [version u8][flags u8]   first, once; flags: 1 = the container has a tty,
///                                              2 = its stdin is open (`-i`)
///       stdout     2  bytes                    the container's output as it comes (with a tty:
///       stderr     3  bytes                    its terminal, all stdout)
///       exited     4  [status u32]             the container ended and all its output was sent;
///                                              the supervisor then closes the connection
///     client → supervisor
///       stdin     16  bytes                    to the container's terminal or stdin pipe
///                                              (dropped unless its stdin is open)
///       stdinEnd  17  (empty)                  the client's stdin ended; the container's stays
///                                              open for the next client, as docker keeps a
///                                              detached `-i` container's
///       window    18  [rows u16][columns u16]  the client's terminal size (TIOCSWINSZ)
///
/// A client leaves by closing its socket: end of file from a client means it is gone. A frame
/// of an unknown kind, of the wrong direction, or longer than `AttachFrameDecoder.maxPayload`
/// ends that connection.
public enum AttachFrame: Equatable, Sendable {
    case hello(AttachHello)
    case stdout([UInt8])
    case stderr([UInt8])
    case exited(Int32)
    case stdin([UInt8])
    case stdinEnd
    case windowSize(rows: UInt16, columns: UInt16)

    enum Kind: UInt8 {
        case hello = 1, stdout = 2, stderr = 3, exited = 4
        case stdin = 16, stdinEnd = 17, windowSize = 18
    }

    static let headerSize = 5

    var kind: Kind {
        switch self {
        case .hello: return .hello
        case .stdout: return .stdout
        case .stderr: return .stderr
        case .exited: return .exited
        case .stdin: return .stdin
        case .stdinEnd: return .stdinEnd
        case .windowSize: return .windowSize
        }
    }

    /// Sent by the supervisor (true) or by a client (false).
    public var fromSupervisor: Bool { kind.rawValue < Kind.stdin.rawValue }

    /// The frame's bytes on the wire.
    public var encoded: [UInt8] {
        var payload: [UInt8]
        switch self {
        case .hello(let hello): payload = [hello.version, hello.flags]
        case .stdout(let bytes), .stderr(let bytes), .stdin(let bytes): payload = bytes
        case .exited(let status): payload = []; Self.append(UInt32(bitPattern: status), to: &payload)
        case .stdinEnd: payload = []
        case .windowSize(let rows, let columns): payload = []; Self.append(rows, to: &payload); Self.append(columns, to: &payload)
        }
        var frame: [UInt8] = [kind.rawValue]
        frame.reserveCapacity(Self.headerSize + payload.count)
        Self.append(UInt32(payload.count), to: &frame)
        return frame + payload
    }

    /// Output of the container's, as a frame of its stream.
    static func output(_ bytes: some Collection<UInt8>, stream: LogStream) -> [UInt8] {
        var frame: [UInt8] = [(stream == .stdout ? Kind.stdout : Kind.stderr).rawValue]
        frame.reserveCapacity(headerSize + bytes.count)
        append(UInt32(bytes.count), to: &frame)
        frame.append(contentsOf: bytes)
        return frame
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

/// The supervisor's first frame: what the container's streams are, so the client knows whether
/// to put its terminal in raw mode and whether to send its stdin at all.
public struct AttachHello: Equatable, Sendable {
    public static let currentVersion: UInt8 = 1

    public var version: UInt8
    public var tty: Bool
    public var stdinOpen: Bool

    public init(version: UInt8 = currentVersion, tty: Bool, stdinOpen: Bool) {
        self.version = version
        self.tty = tty
        self.stdinOpen = stdinOpen
    }

    var flags: UInt8 { (tty ? 1 : 0) | (stdinOpen ? 2 : 0) }
}

public enum AttachProtocolError: Error, Equatable, CustomStringConvertible {
    case unknownKind(UInt8)
    case tooLong(kind: UInt8, length: UInt32)
    case malformed(kind: UInt8, length: Int)

    public var description: String {
        switch self {
        case .unknownKind(let kind): return "attach protocol: unknown frame kind \(kind)"
        case .tooLong(let kind, let length): return "attach protocol: frame of kind \(kind) is \(length) bytes long"
        case .malformed(let kind, let length): return "attach protocol: frame of kind \(kind) cannot be \(length) bytes long"
        }
    }
}

/// Frames out of a byte stream that arrives in pieces of any size.
public struct AttachFrameDecoder {
    /// No frame carries more: output and input travel in reads of at most 64 KiB.
    public static let maxPayload: UInt32 = 1 << 20

    private var buffer: [UInt8] = []
    private var start = 0

    public init() {}

    /// Bytes received but not yet decoded.
    public var buffered: Int { buffer.count - start }

    public mutating func append(_ bytes: some Collection<UInt8>) {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, nil until one has arrived whole.
    public mutating func next() throws -> AttachFrame? {
        guard buffer.count - start >= AttachFrame.headerSize else { return nil }
        let rawKind = buffer[start]
        guard let kind = AttachFrame.Kind(rawValue: rawKind) else { throw AttachProtocolError.unknownKind(rawKind) }
        let length = readUInt32(at: start + 1)
        guard length <= Self.maxPayload else { throw AttachProtocolError.tooLong(kind: rawKind, length: length) }
        let payloadStart = start + AttachFrame.headerSize
        guard buffer.count - payloadStart >= Int(length) else { return nil }
        let payload = Array(buffer[payloadStart..<(payloadStart + Int(length))])
        start = payloadStart + Int(length)
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        func expect(_ size: Int) throws {
            guard payload.count == size else { throw AttachProtocolError.malformed(kind: rawKind, length: payload.count) }
        }
        switch kind {
        case .hello:
            try expect(2)
            return .hello(AttachHello(version: payload[0], tty: payload[1] & 1 != 0, stdinOpen: payload[1] & 2 != 0))
        case .stdout: return .stdout(payload)
        case .stderr: return .stderr(payload)
        case .stdin: return .stdin(payload)
        case .exited:
            try expect(4)
            return .exited(Int32(bitPattern: Self.uint32(payload, 0)))
        case .stdinEnd:
            try expect(0)
            return .stdinEnd
        case .windowSize:
            try expect(4)
            return .windowSize(rows: UInt16(payload[0]) | UInt16(payload[1]) << 8,
                               columns: UInt16(payload[2]) | UInt16(payload[3]) << 8)
        }
    }

    private func readUInt32(at offset: Int) -> UInt32 { Self.uint32(buffer, offset) }

    private static func uint32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }
}
