import Testing
@testable import ContainRuntime

/// The log's lines: docker's json-file format, every byte kept.
@Suite struct LogRecordTests {
    static let time = LogTimestamp(seconds: 1_704_164_645, nanoseconds: 123_456_789)  // 2024-01-02T03:04:05.123456789Z

    static func line(_ record: LogRecord) -> String { String(decoding: record.encoded, as: UTF8.self) }

    @Test func writesDockersJSONFileLines() {
        let record = LogRecord(stream: .stdout, time: Self.time, bytes: Array("out1\n".utf8))
        #expect(Self.line(record) == #"{"log":"out1\n","stream":"stdout","time":"2024-01-02T03:04:05.123456789Z"}"# + "\n")
        let err = LogRecord(stream: .stderr, time: Self.time, bytes: Array("err1\n".utf8))
        #expect(Self.line(err).contains(#""stream":"stderr""#))
    }

    @Test func escapesWhatJSONMust() {
        let bytes: [UInt8] = Array("a\"b\\c\t\r\u{1}\u{1b}[0m\u{7f}/".utf8)
        let record = LogRecord(stream: .stdout, time: Self.time, bytes: bytes)
        #expect(Self.line(record).hasPrefix(#"{"log":"a\"b\\c\t\r\u0001\u001b[0m"# + "\u{7f}" + #"/","#))
    }

    static let awkward: [[UInt8]] = [
        [],
        Array("plain line\n".utf8),
        Array("quotes \" and \\ backslashes \\\" \\\\\n".utf8),
        Array(0..<0x20) + [0x7f],
        Array("é ü 日本 🙂 \u{2028}\u{2029}\u{feff}\n".utf8),
        [0x80, 0xff, 0xfe, 0xc0, 0xaf, 0x41],  // stray continuation bytes, never-valid bytes
        [0xc3],  // a sequence cut short at the end
        [0xe2, 0x82, 0x41, 0xe2, 0x82, 0xac],  // cut short in the middle, then a whole one (€)
        [0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80],  // UTF-8-encoded surrogates (CESU): not UTF-8
        [0xf4, 0x90, 0x80, 0x80, 0xf0, 0x9f, 0x99, 0x82],  // above U+10FFFF, then 🙂
        [0xe0, 0x80, 0xaf, 0xc1, 0xbf],  // overlong forms
        Array(#"\udc80 typed by hand \u00e9"#.utf8),  // text that looks like our escapes
        Array((0...255).map { UInt8($0) }),
    ]

    @Test(arguments: awkward)
    func everyByteSurvivesTheRoundTrip(bytes: [UInt8]) throws {
        for stream in [LogStream.stdout, .stderr] {
            let record = LogRecord(stream: stream, time: Self.time, bytes: bytes)
            let encoded = record.encoded
            #expect(encoded.last == 0x0a && encoded.filter { $0 == 0x0a }.count == 1, "one line")
            // Valid UTF-8 (so valid JSON text) whatever the bytes were.
            #expect(String(validating: encoded, as: UTF8.self) != nil)
            let decoded = try #require(LogRecord(line: encoded.dropLast()))
            #expect(decoded == record)
        }
    }

    @Test func anInvalidByteIsALoneLowSurrogate() {
        let record = LogRecord(stream: .stdout, time: Self.time, bytes: [0x61, 0xff, 0x62])
        #expect(Self.line(record).hasPrefix(#"{"log":"a\udcffb","#))
    }

    @Test func readsDockersOwnLines() throws {
        // Trimmed fraction, fields in another order, HTML-safe escapes, a surrogate pair, attrs.
        let line = #"{"stream":"stderr","attrs":{"tag":"x","n":[1,{"a":"}"}]},"log":"\u003cb\u003e \ud83d\ude42 \/ ok\n","time":"2024-01-02T03:04:05.5Z"}"#
        let record = try #require(LogRecord(line: Array(line.utf8)))
        #expect(record.stream == .stderr)
        #expect(record.bytes == Array("<b> 🙂 / ok\n".utf8))
        #expect(record.time == LogTimestamp(seconds: 1_704_164_645, nanoseconds: 500_000_000))
        // A lone high surrogate from another writer becomes U+FFFD.
        let lone = try #require(LogRecord(line: Array(#"{"log":"\ud800x","stream":"stdout","time":"2024-01-02T03:04:05Z"}"#.utf8)))
        #expect(lone.bytes == Array("\u{fffd}x".utf8))
    }

    @Test(arguments: [
        "", "{", "[]", #"{"log":"x","stream":"stdout"}"#, #"{"log":"x","stream":"stdin","time":"2024-01-02T03:04:05Z"}"#,
        #"{"log":"x","stream":"stdout","time":"yesterday"}"#, #"{"log":"x\q","stream":"stdout","time":"2024-01-02T03:04:05Z"}"#,
        #"{"log":"x","stream":"stdout","time":"2024-01-02T03:04:05Z"} trailing"#, #"{"log":"\u12","stream":"stdout","time":"2024-01-02T03:04:05Z"}"#,
        #"{"log":"x","stream":"stdout","time":"2024-01-02T03:04:05Z""#,
    ])
    func rejectsWhatIsNotARecord(line: String) {
        #expect(LogRecord(line: Array(line.utf8)) == nil)
    }
}
