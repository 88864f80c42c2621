/// The DNS wire format (RFC 1035, EDNS from RFC 6891) as far as a network's name server needs
/// it: read a query, write the answer for a local name, and look at a forwarded message just
/// enough to relay it (its id, its question, a truncated copy).
///
/// Everything here reads untrusted bytes from any process on the network: every read is
/// bounds-checked, compression pointers must point backwards (at most 128 of them per name),
/// and no input can trap.

/// Record types the name server knows by name.
public enum DNSType {
    public static let a: UInt16 = 1
    public static let ptr: UInt16 = 12
    public static let aaaa: UInt16 = 28
    public static let opt: UInt16 = 41
    public static let any: UInt16 = 255
}

/// The RCODE of a response (the 4 bits of the header; no extended codes).
public enum DNSResponseCode: UInt8, Sendable {
    case noError = 0, formatError = 1, serverFailure = 2, nameError = 3, notImplemented = 4, refused = 5
}

/// A question's name: lowercased labels, without the trailing root; "" is the root.
///
/// Names are compared by their lowercased labels only. A name read from a query also keeps its
/// labels as spelled on the wire, so a response echoes the question byte for byte (clients that
/// randomise the case of their questions, DNS 0x20, compare it exactly).
public struct DNSName: Hashable, Sendable, CustomStringConvertible {
    public let labels: [String]
    /// The labels as received, before lowercasing; nil for names built here.
    let spelling: [[UInt8]]?

    public init(labels: [String]) {
        self.labels = labels
        self.spelling = nil
    }

    /// Labels exactly as read off the wire; ASCII letters are lowercased for `labels`
    /// (RFC 4343), other bytes kept (bytes that are not UTF-8 read as U+FFFD).
    init(wireLabels: [[UInt8]]) {
        self.labels = wireLabels.map { String(decoding: $0.map(DNSMessage.lowercased), as: UTF8.self) }
        self.spelling = wireLabels
    }

    /// `web`, `web.`, `Web.Example.COM`: lowercased. "" and "." are the root. Nil when a label is
    /// empty (other than after the trailing dot) or longer than 63 bytes, or the name is longer
    /// than 253 bytes (255 encoded).
    public init?(_ text: String) {
        var utf8 = Array(text.utf8)
        if utf8.last == UInt8(ascii: ".") { utf8.removeLast() }
        guard utf8.count <= 253 else { return nil }
        guard !utf8.isEmpty else {
            self.init(labels: [])
            return
        }
        let parts = utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.allSatisfy({ (1...63).contains($0.count) }) else { return nil }
        self.init(labels: parts.map { String(decoding: $0.map(DNSMessage.lowercased), as: UTF8.self) })
    }

    public var description: String { labels.joined(separator: ".") }

    public static func == (a: DNSName, b: DNSName) -> Bool { a.labels == b.labels }
    public func hash(into hasher: inout Hasher) { hasher.combine(labels) }

    /// The labels to put on the wire: as received, or the lowercased labels' UTF-8.
    var wireLabels: [[UInt8]] { spelling ?? labels.map { Array($0.utf8) } }

    /// `2.0.88.10.in-addr.arpa` -> 10.88.0.2; nil for anything else (a label count other than 6,
    /// an octet that is not 0-255 in decimal without leading zeros).
    public var reverseIPv4: IPv4Address? {
        guard labels.count == 6, labels[4] == "in-addr", labels[5] == "arpa" else { return nil }
        var value: UInt32 = 0
        for label in labels[0..<4].reversed() {
            guard let octet = Self.octet(label) else { return nil }
            value = value << 8 | UInt32(octet)
        }
        return IPv4Address(value)
    }

    /// The 32 nibble labels of `....ip6.arpa` (lowest nibble first) -> 16 bytes; nil otherwise.
    public var reverseIPv6: [UInt8]? {
        guard labels.count == 34, labels[32] == "ip6", labels[33] == "arpa" else { return nil }
        var nibbles: [UInt8] = []
        nibbles.reserveCapacity(32)
        for label in labels[0..<32].reversed() {
            let utf8 = Array(label.utf8)
            guard utf8.count == 1, let nibble = Self.hexDigit(utf8[0]) else { return nil }
            nibbles.append(nibble)
        }
        return (0..<16).map { nibbles[2 * $0] << 4 | nibbles[2 * $0 + 1] }
    }

    /// `10.88.0.2` -> `2.0.88.10.in-addr.arpa`.
    public static func reverse(_ address: IPv4Address) -> DNSName {
        DNSName(labels: address.bytes.reversed().map(String.init) + ["in-addr", "arpa"])
    }

    /// 16 bytes -> the 32 nibble labels, lowest first, then `ip6.arpa`. Meant for 16 bytes; any
    /// other count gives a name `reverseIPv6` does not accept.
    public static func reverse(ipv6 bytes: [UInt8]) -> DNSName {
        let digits = Array("0123456789abcdef".utf8)
        var labels: [String] = []
        for byte in bytes.reversed() {
            labels.append(String(decoding: [digits[Int(byte & 0x0f)]], as: UTF8.self))
            labels.append(String(decoding: [digits[Int(byte >> 4)]], as: UTF8.self))
        }
        return DNSName(labels: labels + ["ip6", "arpa"])
    }

    private static func octet(_ label: String) -> UInt8? {
        let utf8 = Array(label.utf8)
        guard (1...3).contains(utf8.count), utf8.allSatisfy({ (0x30...0x39).contains($0) }),
              utf8.count == 1 || utf8[0] != UInt8(ascii: "0") else { return nil }
        let value = utf8.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        return value <= 255 ? UInt8(value) : nil
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}

public struct DNSQuestion: Equatable, Sendable {
    public var name: DNSName
    public var type: UInt16
    public var qclass: UInt16

    public init(name: DNSName, type: UInt16, qclass: UInt16 = 1) {
        self.name = name
        self.type = type
        self.qclass = qclass
    }
}

/// A query as the server needs it.
public struct DNSQuery: Equatable, Sendable {
    public var id: UInt16
    /// 0 is a standard query; the server answers others NOTIMP.
    public var opcode: UInt8
    public var recursionDesired: Bool
    public var checkingDisabled: Bool
    /// Exactly one question; a query with any other count does not parse.
    public var question: DNSQuestion
    /// The EDNS(0) UDP payload size the client advertised in an OPT record, as sent (even below
    /// 512); nil without OPT.
    public var ednsPayloadSize: Int?

    public init(id: UInt16, opcode: UInt8 = 0, recursionDesired: Bool = true, checkingDisabled: Bool = false,
                question: DNSQuestion, ednsPayloadSize: Int? = nil) {
        self.id = id
        self.opcode = opcode
        self.recursionDesired = recursionDesired
        self.checkingDisabled = checkingDisabled
        self.question = question
        self.ednsPayloadSize = ednsPayloadSize
    }
}

public enum DNSParseResult: Equatable, Sendable {
    case query(DNSQuery)
    /// The header is readable but the rest is not acceptable (a question count other than 1, a
    /// truncated section, a bad compression pointer or label, a second OPT record or one not
    /// owned by the root): answer FORMERR with this id, or NOTIMP for an opcode other than 0.
    /// Bytes after the last record are ignored.
    case malformed(id: UInt16, opcode: UInt8)
    /// Shorter than a header, or a response (QR=1, which must never be answered): drop silently.
    case drop
}

public enum DNSAnswer: Equatable, Sendable {
    case a(IPv4Address)
    /// 16 bytes; an answer of any other length is left out of the response.
    case aaaa([UInt8])
    case ptr(DNSName)
}

public enum DNSMessage {
    static let headerSize = 12
    /// The UDP payload size this server advertises, and the most it sends over UDP
    /// (the DNS flag day 2020 value: fits any path MTU without fragmenting).
    static let ednsPayloadSize = 1232

    // Header flag bits (the 16-bit word after the id).
    static let qrFlag: UInt16 = 0x8000
    static let aaFlag: UInt16 = 0x0400
    static let tcFlag: UInt16 = 0x0200
    static let rdFlag: UInt16 = 0x0100
    static let raFlag: UInt16 = 0x0080
    static let cdFlag: UInt16 = 0x0010
    static let classIN: UInt16 = 1

    public static func parse(_ bytes: [UInt8]) -> DNSParseResult {
        var reader = DNSReader(bytes)
        guard let header = reader.header() else { return .drop }
        guard header.flags & qrFlag == 0 else { return .drop }
        let opcode = header.opcode
        let malformed = DNSParseResult.malformed(id: header.id, opcode: opcode)
        guard header.qdcount == 1, let question = reader.question() else { return malformed }

        // Answers and authority are skipped (a query has none, but may); the additional
        // section is read only for the OPT record.
        let skipped = Int(header.ancount) + Int(header.nscount)
        var payloadSize: Int?
        for index in 0..<(skipped + Int(header.arcount)) {
            guard let record = reader.record() else { return malformed }
            if index >= skipped && record.type == DNSType.opt {
                guard payloadSize == nil, record.ownerIsRoot else { return malformed }
                payloadSize = Int(record.rclass)
            }
        }
        return .query(DNSQuery(id: header.id, opcode: opcode,
                               recursionDesired: header.flags & rdFlag != 0,
                               checkingDisabled: header.flags & cdFlag != 0,
                               question: question, ednsPayloadSize: payloadSize))
    }

    /// The response to `query`: QR=1, AA=1 (authoritative for local names), RD and CD copied,
    /// RA=1, the question echoed as received, `answers` as records of the question's name
    /// (class IN, compressed to a pointer at the question) with `ttl`. When the whole would
    /// exceed `maxSize` bytes, the answers are dropped and TC=1 set (the client retries over
    /// TCP). If the query had an OPT record, the response carries one advertising 1232 bytes,
    /// counted within `maxSize` (and dropped too if even the bare response does not fit).
    /// A question name that cannot be encoded (built with `DNSName(labels:)` from an empty
    /// or over-long label) gives a SERVFAIL without question or answers.
    public static func response(to query: DNSQuery, code: DNSResponseCode, answers: [DNSAnswer], ttl: UInt32,
                                maxSize: Int = 512) -> [UInt8] {
        guard let name = encodeName(query.question.name.wireLabels) else {
            return header(id: query.id, flags: responseFlags(query, code: .serverFailure, truncated: false),
                          counts: (0, 0, 0, 0))
        }
        var question = name
        append(query.question.type, to: &question)
        append(query.question.qclass, to: &question)
        let records = Array(answers.lazy.compactMap { answerRecord($0, ttl: ttl) }.prefix(Int(UInt16.max)))
        let answerSize = records.reduce(0) { $0 + $1.count }
        var opt: [UInt8] = query.ednsPayloadSize == nil ? [] : optRecord
        let bare = headerSize + question.count
        let fits = bare + answerSize + opt.count <= maxSize
        if !fits && bare + opt.count > maxSize { opt = [] }

        var message = header(id: query.id, flags: responseFlags(query, code: code, truncated: !fits),
                             counts: (1, fits ? UInt16(records.count) : 0, 0, opt.isEmpty ? 0 : 1))
        message.reserveCapacity(bare + (fits ? answerSize : 0) + opt.count)
        message += question
        if fits { for record in records { message += record } }
        message += opt
        return message
    }

    /// A bare header answering a message that could not be read: QR=1, the id and opcode kept,
    /// rcode `code`, all counts 0.
    public static func headerOnly(id: UInt16, opcode: UInt8, code: DNSResponseCode) -> [UInt8] {
        header(id: id, flags: qrFlag | UInt16(opcode & 0x0f) << 11 | UInt16(code.rawValue), counts: (0, 0, 0, 0))
    }

    /// The most to send over UDP in answer to `query`: 512 without EDNS, else the advertised
    /// size kept within 512...1232.
    public static func udpLimit(for query: DNSQuery) -> Int {
        guard let size = query.ednsPayloadSize else { return 512 }
        return max(512, min(size, ednsPayloadSize))
    }

    /// The id of any message; nil when shorter than 2 bytes.
    public static func id(of bytes: [UInt8]) -> UInt16? {
        bytes.count >= 2 ? UInt16(bytes[0]) << 8 | UInt16(bytes[1]) : nil
    }

    /// A copy of `bytes` with the id replaced; shorter than 2 bytes: unchanged.
    public static func replacingID(_ bytes: [UInt8], with id: UInt16) -> [UInt8] {
        guard bytes.count >= 2 else { return bytes }
        var copy = bytes
        copy[0] = UInt8(id >> 8)
        copy[1] = UInt8(id & 0xff)
        return copy
    }

    /// For relaying a response received over UDP to a client whose limit is smaller: when
    /// `bytes.count > maxSize`, a copy of just the header and question section with TC=1 and
    /// the answer, authority and additional counts 0; otherwise the bytes unchanged. Nil when
    /// truncation is needed but the header or questions cannot be read. (The copy can still
    /// exceed a `maxSize` smaller than header and questions; nothing shorter is a response.)
    public static func truncated(_ bytes: [UInt8], maxSize: Int) -> [UInt8]? {
        guard bytes.count > maxSize else { return bytes }
        var reader = DNSReader(bytes)
        guard let header = reader.header() else { return nil }
        for _ in 0..<header.qdcount {
            // Decoding (not just skipping) checks that pointers stay within the kept part.
            guard reader.question() != nil else { return nil }
        }
        var copy = Array(bytes[0..<reader.offset])
        copy[2] |= UInt8(tcFlag >> 8)
        for index in 6..<headerSize { copy[index] = 0 }
        return copy
    }

    /// Whether a relayed response answers `query`: the same id, QR=1, exactly one question with
    /// the same type and class and the same name, compared case-insensitively.
    public static func isResponse(_ bytes: [UInt8], to query: DNSQuery) -> Bool {
        var reader = DNSReader(bytes)
        guard let header = reader.header(), header.id == query.id, header.flags & qrFlag != 0,
              header.qdcount == 1, let question = reader.question() else { return false }
        return question.type == query.question.type && question.qclass == query.question.qclass
            && question.name.wireLabels.map(lowercasedLabel) == query.question.name.wireLabels.map(lowercasedLabel)
    }

    // MARK: - Writing

    private static func responseFlags(_ query: DNSQuery, code: DNSResponseCode, truncated: Bool) -> UInt16 {
        var flags = qrFlag | UInt16(query.opcode & 0x0f) << 11 | aaFlag | raFlag | UInt16(code.rawValue)
        if truncated { flags |= tcFlag }
        if query.recursionDesired { flags |= rdFlag }
        if query.checkingDisabled { flags |= cdFlag }
        return flags
    }

    private static func header(id: UInt16, flags: UInt16,
                               counts: (UInt16, UInt16, UInt16, UInt16)) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(headerSize)
        for value in [id, flags, counts.0, counts.1, counts.2, counts.3] { append(value, to: &bytes) }
        return bytes
    }

    /// OPT: root owner, type 41, class = our payload size, extended rcode/version/flags 0, no options.
    private static let optRecord: [UInt8] = [0, 0, 41, UInt8(ednsPayloadSize >> 8), UInt8(ednsPayloadSize & 0xff),
                                             0, 0, 0, 0, 0, 0]

    /// One answer record owned by the question's name (a pointer to offset 12); nil for an
    /// AAAA that is not 16 bytes or a PTR target that cannot be encoded.
    private static func answerRecord(_ answer: DNSAnswer, ttl: UInt32) -> [UInt8]? {
        let type: UInt16, data: [UInt8]
        switch answer {
        case .a(let address): (type, data) = (DNSType.a, address.bytes)
        case .aaaa(let bytes):
            guard bytes.count == 16 else { return nil }
            (type, data) = (DNSType.aaaa, bytes)
        case .ptr(let name):
            guard let encoded = encodeName(name.wireLabels) else { return nil }
            (type, data) = (DNSType.ptr, encoded)
        }
        var record: [UInt8] = [0xc0, UInt8(headerSize)]
        record.reserveCapacity(12 + data.count)
        append(type, to: &record)
        append(classIN, to: &record)
        append(UInt16(ttl >> 16), to: &record)
        append(UInt16(ttl & 0xffff), to: &record)
        append(UInt16(data.count), to: &record)
        return record + data
    }

    /// An uncompressed name; nil when a label is empty or over 63 bytes, or the whole over 255.
    static func encodeName(_ labels: [[UInt8]]) -> [UInt8]? {
        var bytes: [UInt8] = []
        for label in labels {
            guard (1...63).contains(label.count) else { return nil }
            bytes.append(UInt8(label.count))
            bytes += label
        }
        bytes.append(0)
        return bytes.count <= 255 ? bytes : nil
    }

    private static func append(_ value: UInt16, to bytes: inout [UInt8]) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xff))
    }

    static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }

    private static func lowercasedLabel(_ label: [UInt8]) -> [UInt8] { label.map(lowercased) }
}

// MARK: - Reading

/// A bounds-checked cursor over a message: every read returns nil rather than go past the end.
struct DNSReader {
    struct Header {
        var id: UInt16, flags: UInt16
        var qdcount: UInt16, ancount: UInt16, nscount: UInt16, arcount: UInt16
        var opcode: UInt8 { UInt8(flags >> 11 & 0x0f) }
    }

    struct Record {
        var type: UInt16, rclass: UInt16
        var ownerIsRoot: Bool
    }

    /// At most this many compression pointers are followed in one name.
    static let maximumJumps = 128

    let bytes: [UInt8]
    private(set) var offset: Int

    init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = max(0, offset)
    }

    var remaining: Int { bytes.count - offset }

    mutating func u16() -> UInt16? {
        guard remaining >= 2 else { return nil }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func skip(_ count: Int) -> Bool {
        guard count >= 0, remaining >= count else { return false }
        offset += count
        return true
    }

    mutating func header() -> Header? {
        guard remaining >= DNSMessage.headerSize, let id = u16(), let flags = u16(), let qd = u16(),
              let an = u16(), let ns = u16(), let ar = u16() else { return nil }
        return Header(id: id, flags: flags, qdcount: qd, ancount: an, nscount: ns, arcount: ar)
    }

    mutating func question() -> DNSQuestion? {
        guard let labels = name(), let type = u16(), let qclass = u16() else { return nil }
        return DNSQuestion(name: DNSName(wireLabels: labels), type: type, qclass: qclass)
    }

    /// One resource record, its owner name skipped rather than decoded.
    mutating func record() -> Record? {
        let ownerIsRoot = offset < bytes.count && bytes[offset] == 0
        guard skipName(), let type = u16(), let rclass = u16(), skip(4), let length = u16(),
              skip(Int(length)) else { return nil }
        return Record(type: type, rclass: rclass, ownerIsRoot: ownerIsRoot)
    }

    /// Decodes the name at the cursor, following compression pointers, and moves the cursor
    /// past it (past the first pointer, if any). Nil for a truncated name, a label type other
    /// than 00 (length) or 11 (pointer), a pointer that does not point strictly backwards,
    /// more than 128 pointers, or a name over 255 bytes uncompressed.
    mutating func name() -> [[UInt8]]? {
        var labels: [[UInt8]] = []
        var position = offset
        var resume: Int?
        var jumps = 0
        var encodedLength = 1
        while position < bytes.count {
            let byte = bytes[position]
            switch byte & 0xc0 {
            case 0x00:
                if byte == 0 {
                    offset = resume ?? position + 1
                    return labels
                }
                let start = position + 1, count = Int(byte)
                encodedLength += 1 + count
                guard encodedLength <= 255, count <= bytes.count - start else { return nil }
                labels.append(Array(bytes[start..<(start + count)]))
                position = start + count
            case 0xc0:
                guard position + 1 < bytes.count else { return nil }
                let target = Int(byte & 0x3f) << 8 | Int(bytes[position + 1])
                guard target < position, jumps < Self.maximumJumps else { return nil }
                jumps += 1
                if resume == nil { resume = position + 2 }
                position = target
            default:
                return nil
            }
        }
        return nil
    }

    /// Moves the cursor past the name at it without following pointers.
    mutating func skipName() -> Bool {
        var position = offset
        while position < bytes.count {
            let byte = bytes[position]
            switch byte & 0xc0 {
            case 0x00:
                if byte == 0 {
                    offset = position + 1
                    return true
                }
                position += 1 + Int(byte)
            case 0xc0:
                guard position + 1 < bytes.count else { return false }
                offset = position + 2
                return true
            default:
                return false
            }
        }
        return false
    }
}
