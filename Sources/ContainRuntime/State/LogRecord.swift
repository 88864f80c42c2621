/// Which of the container's streams a log record came from. With `-t` the terminal is one
/// stream: stdout.
public enum LogStream: String, Sendable {
    case stdout, stderr
}

/// One line of a detached container's output, as its log keeps it.
///
/// The log is docker's json-file format, one JSON object per line:
///
///     {"log":"out1\n","stream":"stdout","time":"2024-01-02T03:04:05.123456789Z"}
///
/// - `log`: the bytes of one line of output with its newline; a line longer than
///   `ContainerLogWriter.maxLine`, or a last line without a newline, is cut into records without
///   one (printing the records in order gives back the bytes).
/// - `stream`: `stdout` or `stderr`.
/// - `time`: when contain read it, RFC 3339 in UTC with nanoseconds.
///
/// Every byte survives. Valid UTF-8 is kept as it is, with JSON's escapes for `"`, `\` and the
/// control characters below U+0020; a byte that is not part of valid UTF-8 (0x80-0xFF) is
/// written as the lone surrogate `\udc80`-`\udcff` (Python's surrogateescape), which this
/// reader turns back into that byte. The file stays valid UTF-8 and valid JSON; tools that read
/// docker's logs see U+FFFD there, as docker itself writes.
public struct LogRecord: Equatable, Sendable {
    public var stream: LogStream
    public var time: LogTimestamp
    public var bytes: [UInt8]

    public init(stream: LogStream, time: LogTimestamp, bytes: [UInt8]) {
        self.stream = stream
        self.time = time
        self.bytes = bytes
    }

    /// The record as one line of the file, newline included.
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        Self.encode(stream: stream, time: time, bytes: bytes[...], into: &out)
        return out
    }

    static func encode(stream: LogStream, time: LogTimestamp, bytes: ArraySlice<UInt8>, into out: inout [UInt8]) {
        out.reserveCapacity(out.count + bytes.count + 80)
        out.append(contentsOf: #"{"log":""#.utf8)
        JSONString.escape(bytes, into: &out)
        out.append(contentsOf: stream == .stdout ? #"","stream":"stdout","time":""#.utf8 : #"","stream":"stderr","time":""#.utf8)
        time.append(to: &out)
        out.append(contentsOf: "\"}\n".utf8)
    }

    /// Reads one line of a log file (without its newline); nil if it is not a record. Fields may
    /// come in any order, and others (docker's `attrs`) are skipped.
    public init?(line: some Collection<UInt8>) {
        var reader = JSONObjectReader(Array(line))
        var log: [UInt8]?, stream: LogStream?, time: LogTimestamp?
        guard reader.readObject({ key, reader in
            switch key {
            case "log":
                log = reader.readString()
                return log != nil
            case "stream":
                guard let value = reader.readString() else { return false }
                stream = LogStream(rawValue: String(decoding: value, as: UTF8.self))
                return true
            case "time":
                guard let value = reader.readString() else { return false }
                time = LogTimestamp(rfc3339: value)
                return true
            default:
                return reader.skipValue()
            }
        }), let log, let stream, let time else { return nil }
        self.init(stream: stream, time: time, bytes: log)
    }
}

/// JSON string escaping of arbitrary bytes (see LogRecord for the convention).
enum JSONString {
    static func escape(_ bytes: ArraySlice<UInt8>, into out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        var i = bytes.startIndex
        let end = bytes.endIndex
        while i < end {
            let b = bytes[i]
            if b < 0x80 {
                switch b {
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(b)
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(b)
                case 0x0a: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
                case 0x0d: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
                case 0..<0x20:
                    out.append(contentsOf: #"\u00"#.utf8)
                    out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 0xf)])
                default: out.append(b)
                }
                i += 1
                continue
            }
            let length = validSequenceLength(bytes, at: i)
            if length > 0 {
                out.append(contentsOf: bytes[i..<(i + length)])
                i += length
            } else {
                out.append(contentsOf: #"\udc"#.utf8)
                out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 0xf)])
                i += 1
            }
        }
    }

    /// The length of the well-formed UTF-8 sequence (RFC 3629: no overlongs, no surrogates,
    /// nothing above U+10FFFF) that starts with the non-ASCII byte at `i`; 0 if there is none.
    static func validSequenceLength(_ bytes: ArraySlice<UInt8>, at i: Int) -> Int {
        let b = bytes[i]
        let length: Int
        var low: UInt8 = 0x80, high: UInt8 = 0xBF  // the second byte's range
        switch b {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: return 0
        }
        guard i + length <= bytes.endIndex, (low...high).contains(bytes[i + 1]) else { return 0 }
        for k in 2..<length where !(0x80...0xBF).contains(bytes[i + k]) { return 0 }
        return length
    }
}

/// Just enough of a JSON reader for one log line: an object whose values are read as strings
/// or skipped.
struct JSONObjectReader {
    private let bytes: [UInt8]
    private var i = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Calls `field` with each key; it reads or skips the value and says whether that worked.
    /// True if the whole input was one well-formed object.
    mutating func readObject(_ field: (String, inout JSONObjectReader) -> Bool) -> Bool {
        skipSpace()
        guard take(UInt8(ascii: "{")) else { return false }
        skipSpace()
        if !take(UInt8(ascii: "}")) {
            while true {
                skipSpace()
                guard let key = readString() else { return false }
                skipSpace()
                guard take(UInt8(ascii: ":")) else { return false }
                skipSpace()
                guard field(String(decoding: key, as: UTF8.self), &self) else { return false }
                skipSpace()
                if take(UInt8(ascii: ",")) { continue }
                guard take(UInt8(ascii: "}")) else { return false }
                break
            }
        }
        skipSpace()
        return i == bytes.count
    }

    /// A string value's bytes, its escapes undone (`\udc80`-`\udcff` alone: that raw byte).
    mutating func readString() -> [UInt8]? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        var out: [UInt8] = []
        while i < bytes.count {
            let b = bytes[i]
            i += 1
            if b == UInt8(ascii: "\"") { return out }
            guard b == UInt8(ascii: "\\") else { out.append(b); continue }
            guard i < bytes.count else { return nil }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "u"):
                guard let unit = readHex4() else { return nil }
                if (0xD800...0xDBFF).contains(unit), i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"),
                   bytes[i + 1] == UInt8(ascii: "u") {
                    let saved = i
                    i += 2
                    if let low = readHex4(), (0xDC00...0xDFFF).contains(low) {
                        appendUTF8(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00), to: &out)
                        continue
                    }
                    i = saved
                }
                if (0xDC80...0xDCFF).contains(unit) {
                    out.append(UInt8(unit & 0xFF))  // a raw byte, escaped by the writer
                } else if (0xD800...0xDFFF).contains(unit) {
                    appendUTF8(0xFFFD, to: &out)
                } else {
                    appendUTF8(unit, to: &out)
                }
            default: return nil
            }
        }
        return nil
    }

    /// Skips any JSON value (objects and arrays with what is inside them).
    mutating func skipValue() -> Bool {
        guard i < bytes.count else { return false }
        switch bytes[i] {
        case UInt8(ascii: "\""):
            return readString() != nil
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "\""):
                    guard readString() != nil else { return false }
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { i += 1; return true }
                default: break
                }
                i += 1
            }
            return false
        default:
            // A number, true, false or null: up to the next delimiter.
            let start = i
            while i < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0a, 0x0d].contains(bytes[i]) {
                i += 1
            }
            return i > start
        }
    }

    private mutating func readHex4() -> UInt32? {
        guard i + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[i]
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
            i += 1
        }
        return value
    }

    private func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80: out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | scalar >> 6)); out.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | scalar >> 12)); out.append(UInt8(0x80 | scalar >> 6 & 0x3F)); out.append(UInt8(0x80 | scalar & 0x3F))
        default:
            out.append(UInt8(0xF0 | scalar >> 18)); out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F)); out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    private mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[i]) { i += 1 }
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard i < bytes.count, bytes[i] == byte else { return false }
        i += 1
        return true
    }
}
