import Testing
@testable import ContainRuntime

@Suite struct SeccompJSONTests {
    @Test func readsEveryKindOfValue() throws {
        let value = try JSONValue.parse(#" { "a": [1, -0.5e+3, true, false, null, "x"], "b": {}, "c": [] } "#)
        #expect(value == .object([
            .init(key: "a", value: .array([.number("1"), .number("-0.5e+3"), .bool(true), .bool(false), .null, .string("x")])),
            .init(key: "b", value: .object([])),
            .init(key: "c", value: .array([])),
        ]))
    }

    @Test func keepsMemberOrder() throws {
        guard case .object(let members) = try JSONValue.parse(#"{"z": 1, "a": 2, "m": 3}"#) else { Issue.record(); return }
        #expect(members.map(\.key) == ["z", "a", "m"])
    }

    @Test func readsUnsignedIntegersExactly() throws {
        #expect(try JSONValue.parse("18446744073709551615").uint64 == .max)
        #expect(try JSONValue.parse("2114060288").uint64 == 2_114_060_288)
        #expect(try JSONValue.parse("0").uint64 == 0)
        for notUnsigned in ["18446744073709551616", "-1", "1.0", "1e3", "-0", "99999999999999999999999"] {
            #expect(try JSONValue.parse(notUnsigned).uint64 == nil, "\(notUnsigned)")
        }
    }

    @Test func decodesEscapes() throws {
        #expect(try JSONValue.parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{08}\u{0C}\n\r\t"))
        #expect(try JSONValue.parse(#""caf\u00e9 \u00E9""#) == .string("café é"))
        #expect(try JSONValue.parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try JSONValue.parse(#""\u0000""#) == .string("\u{0}"))
        #expect(try JSONValue.parse("\"ünïcode 😀\"") == .string("ünïcode 😀"))
    }

    /// What is not JSON, with the byte offset where it stops being JSON.
    static let invalid: [(String, Int, String)] = [
        ("", 0, "expected a value, found the end of the input"),
        ("   ", 3, "expected a value, found the end of the input"),
        ("[1,]", 3, "expected a value, found `]`"),
        (#"{"a": 1,}"#, 8, "expected a member name in quotes, found `}`"),
        (#"{"a" 1}"#, 5, "expected `:` after the member name, found `1`"),
        (#"{"a": 1 "b": 2}"#, 8, "expected `,` or `}`, found `\"`"),
        (#"{'a': 1}"#, 1, "expected a member name in quotes, found `'`"),
        ("[1 2]", 3, "expected `,` or `]`, found `2`"),
        ("01", 0, "a number may not start with 0"),
        ("-", 1, "expected a digit, found the end of the input"),
        ("1.", 2, "expected a digit after `.`, found the end of the input"),
        ("1e+", 3, "expected a digit in the exponent, found the end of the input"),
        (".5", 0, "expected a value, found `.`"),
        ("+1", 0, "expected a value, found `+`"),
        ("NaN", 0, "expected a value, found `N`"),
        ("tru", 0, "expected `true`"),
        ("nul", 0, "expected `null`"),
        ("[1] 2", 4, "expected the end of the document, found `2`"),
        ("[1] // comment", 4, "expected the end of the document, found `/`"),
        (#""abc"#, 0, "the string that starts here is not closed"),
        ("\"a\u{01}\"", 2, "a control character (0x1) must be escaped in a string"),
        ("\"a\nb\"", 2, "a control character (0xA) must be escaped in a string"),
        (#""\x""#, 1, #"unknown escape `\x`"#),
        (#""\u12""#, 1, #"`\u` needs four hexadecimal digits"#),
        (#""\ud800""#, 1, "a high surrogate without a low one"),
        (#""\ud800\u0041""#, 1, "a high surrogate without a low one"),
        (#""\udc00""#, 1, "a low surrogate without a high one"),
        (#"{"a": 1, "a": 2}"#, 9, "the member name `a` appears twice"),
    ]

    @Test(arguments: invalid)
    func rejectsWhatIsNotJSON(text: String, offset: Int, reason: String) {
        #expect(throws: JSONError(offset: offset, reason: reason)) { try JSONValue.parse(text) }
    }

    @Test func theMessageNamesTheByte() {
        #expect(JSONError(offset: 8, reason: "expected `,` or `}`, found `]`").description
                == "not valid JSON at byte 8: expected `,` or `}`, found `]`")
    }

    @Test func limitsNesting() throws {
        #expect(try JSONValue.parse(String(repeating: "[", count: 512) + String(repeating: "]", count: 512)) != .null)
        #expect(throws: JSONError(offset: 512, reason: "nested more than 512 deep")) {
            try JSONValue.parse(String(repeating: "[", count: 513) + String(repeating: "]", count: 513))
        }
    }
}
