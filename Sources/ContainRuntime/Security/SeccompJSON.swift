/// JSON as RFC 8259 defines it, strictly, without Foundation (the start path keeps it out):
/// enough to read a seccomp profile in docker's format, and any other small document.
///
/// Strict means: one value and nothing after it but whitespace; no comments, trailing commas,
/// single quotes, leading zeros, `+1`, `.5`, NaN, unescaped control characters, lone surrogates,
/// or a key twice in one object. Numbers keep their literal text, so a reader asks for the type
/// it wants and 18446744073709551615 stays exact.
enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// The literal as written, e.g. `-1.5e3`; `uint64` reads the unsigned integers.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order.
    case object([Member])

    struct Member: Equatable, Sendable {
        let key: String
        let value: JSONValue
    }

    /// Parses one document.
    static func parse(_ text: String) throws(JSONError) -> JSONValue {
        var parser = Parser(bytes: Array(text.utf8))
        return try parser.document()
    }

    /// The value of an integer literal from 0 through UInt64.max; nil for anything else
    /// (a fraction, an exponent, a sign, too large).
    var uint64: UInt64? {
        guard case .number(let text) = self, !text.isEmpty else { return nil }
        var value: UInt64 = 0
        for byte in text.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            value = sum
        }
        return value
    }

    /// What the value is, for messages: `a string`, `an object`, ...
    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// Where a document stops being JSON: the byte offset (from 0) and what was expected there.
struct JSONError: Error, Equatable, CustomStringConvertible, Sendable {
    let offset: Int
    let reason: String

    var description: String { "not valid JSON at byte \(offset): \(reason)" }
}

extension JSONValue {
    fileprivate struct Parser {
        let bytes: [UInt8]
        var at = 0
        var depth = 0
        /// Deep enough for any real document, shallow enough that recursion cannot exhaust the stack.
        static let maximumDepth = 512

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func document() throws(JSONError) -> JSONValue {
            skipWhitespace()
            let result = try value()
            skipWhitespace()
            if at < bytes.count { throw fail("expected the end of the document, found \(describe(at))") }
            return result
        }

        func fail(_ reason: String, at offset: Int? = nil) -> JSONError {
            JSONError(offset: offset ?? at, reason: reason)
        }

        func describe(_ offset: Int) -> String {
            guard offset < bytes.count else { return "the end of the input" }
            let byte = bytes[offset]
            if byte >= 0x21, byte < 0x7f { return "`\(Character(Unicode.Scalar(byte)))`" }
            return "byte 0x" + String(byte, radix: 16, uppercase: true)
        }

        mutating func skipWhitespace() {
            while at < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[at]) { at += 1 }
        }

        mutating func value() throws(JSONError) -> JSONValue {
            guard at < bytes.count else { throw fail("expected a value, found the end of the input") }
            switch bytes[at] {
            case UInt8(ascii: "{"): return try nested { (p: inout Parser) throws(JSONError) in try p.object() }
            case UInt8(ascii: "["): return try nested { (p: inout Parser) throws(JSONError) in try p.array() }
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            default: throw fail("expected a value, found \(describe(at))")
            }
        }

        mutating func nested(_ body: (inout Parser) throws(JSONError) -> JSONValue) throws(JSONError) -> JSONValue {
            depth += 1
            if depth > Self.maximumDepth { throw fail("nested more than \(Self.maximumDepth) deep") }
            defer { depth -= 1 }
            return try body(&self)
        }

        mutating func literal(_ word: String) throws(JSONError) {
            for (i, byte) in word.utf8.enumerated() where at + i >= bytes.count || bytes[at + i] != byte {
                throw fail("expected `\(word)`", at: at)
            }
            at += word.utf8.count
        }

        mutating func object() throws(JSONError) -> JSONValue {
            at += 1  // {
            var members: [Member] = []
            var keys = Set<String>()
            skipWhitespace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
            while true {
                skipWhitespace()
                guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else {
                    throw fail("expected a member name in quotes, found \(describe(at))")
                }
                let keyOffset = at
                let key = try string()
                if !keys.insert(key).inserted { throw fail("the member name `\(key)` appears twice", at: keyOffset) }
                skipWhitespace()
                guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else {
                    throw fail("expected `:` after the member name, found \(describe(at))")
                }
                at += 1
                skipWhitespace()
                members.append(Member(key: key, value: try value()))
                skipWhitespace()
                guard at < bytes.count else { throw fail("expected `,` or `}`, found the end of the input") }
                switch bytes[at] {
                case UInt8(ascii: ","): at += 1
                case UInt8(ascii: "}"): at += 1; return .object(members)
                default: throw fail("expected `,` or `}`, found \(describe(at))")
                }
            }
        }

        mutating func array() throws(JSONError) -> JSONValue {
            at += 1  // [
            var elements: [JSONValue] = []
            skipWhitespace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .array(elements) }
            while true {
                skipWhitespace()
                elements.append(try value())
                skipWhitespace()
                guard at < bytes.count else { throw fail("expected `,` or `]`, found the end of the input") }
                switch bytes[at] {
                case UInt8(ascii: ","): at += 1
                case UInt8(ascii: "]"): at += 1; return .array(elements)
                default: throw fail("expected `,` or `]`, found \(describe(at))")
                }
            }
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, returned as written.
        mutating func number() throws(JSONError) -> String {
            let start = at
            func digits(_ p: inout Parser) -> Int {
                let first = p.at
                while p.at < p.bytes.count, p.bytes[p.at] >= UInt8(ascii: "0"), p.bytes[p.at] <= UInt8(ascii: "9") { p.at += 1 }
                return p.at - first
            }
            if bytes[at] == UInt8(ascii: "-") { at += 1 }
            guard at < bytes.count, bytes[at] >= UInt8(ascii: "0"), bytes[at] <= UInt8(ascii: "9") else {
                throw fail("expected a digit, found \(describe(at))")
            }
            let leading = at
            let count = digits(&self)
            if bytes[leading] == UInt8(ascii: "0"), count > 1 { throw fail("a number may not start with 0", at: leading) }
            if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
                at += 1
                if digits(&self) == 0 { throw fail("expected a digit after `.`, found \(describe(at))") }
            }
            if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
                at += 1
                if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
                if digits(&self) == 0 { throw fail("expected a digit in the exponent, found \(describe(at))") }
            }
            return String(decoding: bytes[start..<at], as: UTF8.self)
        }

        mutating func string() throws(JSONError) -> String {
            let start = at
            at += 1  // "
            var out: [UInt8] = []
            while true {
                guard at < bytes.count else { throw fail("the string that starts here is not closed", at: start) }
                let byte = bytes[at]
                switch byte {
                case UInt8(ascii: "\""):
                    at += 1
                    guard let text = String(validating: out, as: UTF8.self) else {
                        throw fail("the string that starts here is not valid UTF-8", at: start)
                    }
                    return text
                case UInt8(ascii: "\\"):
                    try escape(into: &out)
                case 0x00..<0x20:
                    throw fail("a control character (0x\(String(byte, radix: 16, uppercase: true))) must be escaped in a string")
                default:
                    out.append(byte)
                    at += 1
                }
            }
        }

        mutating func escape(into out: inout [UInt8]) throws(JSONError) {
            let start = at
            at += 1  // backslash
            guard at < bytes.count else { throw fail("the escape is not complete", at: start) }
            let simple: [UInt8: UInt8] = [
                UInt8(ascii: "\""): 0x22, UInt8(ascii: "\\"): 0x5c, UInt8(ascii: "/"): 0x2f, UInt8(ascii: "b"): 0x08,
                UInt8(ascii: "f"): 0x0c, UInt8(ascii: "n"): 0x0a, UInt8(ascii: "r"): 0x0d, UInt8(ascii: "t"): 0x09,
            ]
            if let replacement = simple[bytes[at]] {
                out.append(replacement)
                at += 1
                return
            }
            guard bytes[at] == UInt8(ascii: "u") else {
                let shown = bytes[at] >= 0x21 && bytes[at] < 0x7f ? String(Character(Unicode.Scalar(bytes[at]))) : "?"
                throw fail("unknown escape `\\\(shown)`", at: start)
            }
            at += 1
            var scalar = try hex4(escapeAt: start)
            if (0xDC00...0xDFFF).contains(scalar) { throw fail("a low surrogate without a high one", at: start) }
            if (0xD800...0xDBFF).contains(scalar) {
                guard at + 1 < bytes.count, bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "u") else {
                    throw fail("a high surrogate without a low one", at: start)
                }
                let second = at
                at += 2
                let low = try hex4(escapeAt: second)
                guard (0xDC00...0xDFFF).contains(low) else { throw fail("a high surrogate without a low one", at: start) }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            // Every value left is a valid scalar: surrogates were paired or refused above.
            out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
        }

        mutating func hex4(escapeAt start: Int) throws(JSONError) -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard at < bytes.count, let digit = hexValue(bytes[at]) else {
                    throw fail("`\\u` needs four hexadecimal digits", at: start)
                }
                value = value << 4 | digit
                at += 1
            }
            return value
        }

        func hexValue(_ byte: UInt8) -> UInt32? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
            default: nil
            }
        }
    }
}
