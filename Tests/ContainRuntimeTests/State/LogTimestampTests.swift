import Glibc
import Testing
@testable import ContainRuntime

/// Log times: written as `docker logs -t` prints them; `--since`/`--until` read as docker reads them.
@Suite struct LogTimestampTests {
    static let now = LogTimestamp(seconds: 1_704_164_645, nanoseconds: 123_456_789)  // 2024-01-02T03:04:05.123456789Z
    static let second: Int64 = 1_000_000_000

    static func parse(_ text: String) throws -> LogTimestamp { try LogTimestamp(parsing: text, now: now) }

    @Test func printsRFC3339InUTCWithNineDigits() {
        #expect(Self.now.description == "2024-01-02T03:04:05.123456789Z")
        #expect(LogTimestamp(nanoseconds: 0).description == "1970-01-01T00:00:00.000000000Z")
        #expect(LogTimestamp(seconds: 951_782_400).description == "2000-02-29T00:00:00.000000000Z")
        #expect(LogTimestamp(seconds: 9_214_646_399, nanoseconds: 999_999_999).description == "2261-12-31T23:59:59.999999999Z")
        #expect(LogTimestamp(nanoseconds: -1).description == "1969-12-31T23:59:59.999999999Z")
    }

    @Test func theCalendarRoundTripsEveryDayForCenturies() {
        var wrong: [Int64] = []
        for days in stride(from: Int64(-800_000), through: 800_000, by: 1) {
            let (y, m, d) = LogTimestamp.civil(days: days)
            if LogTimestamp.days(year: y, month: m, day: d) != days { wrong.append(days) }
            if days % 997 != 0 { continue }
            var t = tm()
            var seconds = time_t(days * 86_400)
            gmtime_r(&seconds, &t)
            if (Int64(t.tm_year) + 1900, Int64(t.tm_mon) + 1, Int64(t.tm_mday)) != (y, m, d) { wrong.append(days) }
        }
        #expect(wrong.isEmpty, "days that do not round-trip or differ from gmtime: \(wrong.prefix(10))")
    }

    static let durations: [(String, Int64)] = [
        ("42s", 42 * second), ("10m", 600 * second), ("1h30m", 5400 * second), ("1.5h", 5400 * second),
        ("250ms", 250_000_000), ("2h45m30.5s", (9930 * second) + 500_000_000), ("1us", 1_000), ("1µs", 1_000), ("7ns", 7),
        ("0s", 0), ("-5m", -300 * second), ("+5m", 300 * second), (".5s", 500_000_000),
    ]

    @Test(arguments: durations)
    func aDurationIsThatLongBeforeNow(text: String, nanoseconds: Int64) throws {
        #expect(try Self.parse(text) == LogTimestamp(nanoseconds: Self.now.nanoseconds - nanoseconds))
    }

    static let absolute: [(String, LogTimestamp)] = [
        ("2024-01-02T03:04:05Z", LogTimestamp(seconds: 1_704_164_645)),
        ("2024-01-02T03:04:05.5Z", LogTimestamp(seconds: 1_704_164_645, nanoseconds: 500_000_000)),
        ("2024-01-02T03:04:05.123456789Z", now),
        ("2024-01-02T03:04:05.1234567891Z", now),  // beyond nanoseconds: cut
        ("2024-01-02t03:04:05z", LogTimestamp(seconds: 1_704_164_645)),
        ("2024-01-02T05:04:05+02:00", LogTimestamp(seconds: 1_704_164_645)),
        ("2024-01-01T22:34:05-04:30", LogTimestamp(seconds: 1_704_164_645)),
        ("2024-01-02T03:04Z", LogTimestamp(seconds: 1_704_164_640)),
        ("2024-01-02T03Z", LogTimestamp(seconds: 1_704_164_400)),
        ("2024-01-02Z", LogTimestamp(seconds: 1_704_153_600)),
        ("1704164645", LogTimestamp(seconds: 1_704_164_645)),
        ("1704164645.25", LogTimestamp(seconds: 1_704_164_645, nanoseconds: 250_000_000)),
        ("0", LogTimestamp(seconds: 0)),  // as docker: zero is the epoch, not a duration
    ]

    @Test(arguments: absolute)
    func anAbsoluteTimeIsThatTime(text: String, expected: LogTimestamp) throws {
        #expect(try Self.parse(text) == expected)
    }

    /// Without a zone, the host's local time, as docker reads it.
    @Test func withoutAZoneItIsLocalTime() throws {
        var t = tm()
        var seconds = time_t(1_704_164_645)
        localtime_r(&seconds, &t)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let local = "\(t.tm_year + 1900)-\(two(t.tm_mon + 1))-\(two(t.tm_mday))T\(two(t.tm_hour)):\(two(t.tm_min)):\(two(t.tm_sec))"
        #expect(try Self.parse(local) == LogTimestamp(seconds: 1_704_164_645))
        #expect(try Self.parse(local + ".5") == LogTimestamp(seconds: 1_704_164_645, nanoseconds: 500_000_000))
    }

    @Test(arguments: [
        "", "yesterday", "10x", "1h30", "m", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2024-01-02T24:00:00Z",
        "2024-01-02T03:04:05+25:00", "2024-01-02T03:04:05Q", "2024-1-2", "1704164645.", "1704164645.x", "-1704164645",
        "99999999999999999999", "9999999999999h", "9999-12-31T00:00:00Z", "99999999999", "3000000h",
    ])
    func rejectsWhatIsNoTime(text: String) {
        #expect(throws: SpecError.self) { try Self.parse(text) }
    }

    @Test func readsTheTimesOfTheFile() {
        #expect(LogTimestamp(rfc3339: Array("2024-01-02T03:04:05.123456789Z".utf8)) == Self.now)
        #expect(LogTimestamp(rfc3339: Array("2024-01-02T03:04:05Z".utf8)) == LogTimestamp(seconds: 1_704_164_645))
        #expect(LogTimestamp(rfc3339: Array("2024-01-02T03:04:05".utf8)) == nil, "a record's time has a zone")
        #expect(LogTimestamp(rfc3339: Array("2024-01-02Z".utf8)) == nil, "and a time of day")
    }
}
