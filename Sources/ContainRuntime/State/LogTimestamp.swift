#if canImport(Glibc)
import Glibc
#endif

/// A moment in a container's log: nanoseconds since the Unix epoch.
///
/// Written as RFC 3339 in UTC with nine fraction digits (`2024-01-02T03:04:05.000000001Z`), as
/// `docker logs -t` prints it. Read back in any RFC 3339 form (docker's json-file trims
/// trailing zeros), and, for `logs --since/--until`, in every form docker takes there.
public struct LogTimestamp: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public init(seconds: Int64, nanoseconds: Int64 = 0) { self.nanoseconds = seconds * 1_000_000_000 + nanoseconds }

    /// nil beyond what 64 bits of nanoseconds hold (the years 1678 to 2261).
    static func checked(seconds: Int64, nanoseconds: Int64) -> LogTimestamp? {
        seconds.multipliedChecked(by: 1_000_000_000)?.addingChecked(nanoseconds).map(LogTimestamp.init(nanoseconds:))
    }

    public static func now() -> LogTimestamp {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return LogTimestamp(seconds: Int64(now.tv_sec), nanoseconds: Int64(now.tv_nsec))
    }

    public static func < (a: LogTimestamp, b: LogTimestamp) -> Bool { a.nanoseconds < b.nanoseconds }

    public var description: String {
        var bytes: [UInt8] = []
        append(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `YYYY-MM-DDTHH:MM:SS.NNNNNNNNNZ`, appended without a String in between (the writer's path).
    func append(to out: inout [UInt8]) {
        let (seconds, fraction) = nanoseconds.floorDivided(by: 1_000_000_000)
        let (days, secondOfDay) = seconds.floorDivided(by: 86_400)
        let (year, month, day) = Self.civil(days: days)
        func digits(_ value: Int64, _ count: Int) {
            var divisor: Int64 = 1
            for _ in 1..<count { divisor *= 10 }
            var value = value
            while divisor > 0 {
                out.append(UInt8(truncatingIfNeeded: 48 + value / divisor % 10))
                value %= divisor
                divisor /= 10
            }
        }
        digits(year, 4); out.append(UInt8(ascii: "-")); digits(month, 2); out.append(UInt8(ascii: "-")); digits(day, 2)
        out.append(UInt8(ascii: "T"))
        digits(secondOfDay / 3600, 2); out.append(UInt8(ascii: ":")); digits(secondOfDay / 60 % 60, 2)
        out.append(UInt8(ascii: ":")); digits(secondOfDay % 60, 2)
        out.append(UInt8(ascii: ".")); digits(fraction, 9); out.append(UInt8(ascii: "Z"))
    }

    // MARK: reading

    /// An RFC 3339 date-time as a log file keeps it; nil if `text` is not one.
    init?(rfc3339 text: some Collection<UInt8>) {
        guard let parsed = DateTimeText(Array(text)), parsed.hasTime, let zone = parsed.zoneOffset,
              let value = parsed.timestamp(zoneOffset: zone) else { return nil }
        self = value
    }

    /// `logs --since` and `--until` as docker reads them, relative to `now`:
    ///
    /// - a duration, Go's syntax: `42s`, `10m`, `1h30m`, `1.5h`, `250ms` (that long before now);
    /// - an RFC 3339 timestamp, or a shorter one: `2024-01-02T15:04:05Z`, `2024-01-02T15:04:05.5+02:00`,
    ///   `2024-01-02T15:04`, `2024-01-02`; without `Z` or an offset it is the host's local time;
    /// - Unix seconds, with a fraction if wanted: `1704207845`, `1704207845.5`.
    public init(parsing text: String, now: LogTimestamp) throws(SpecError) {
        let bytes = Array(text.utf8)
        if text != "0", let duration = Self.duration(bytes) {
            guard let moment = now.nanoseconds.subtractingChecked(duration) else {
                throw SpecError("invalid time `\(text)`: too far from now")
            }
            self = LogTimestamp(nanoseconds: moment)
            return
        }
        if bytes.dropFirst().contains(UInt8(ascii: "-")) {
            guard let parsed = DateTimeText(bytes), let value = parsed.timestamp(zoneOffset: parsed.zoneOffset ?? parsed.localOffset()) else {
                throw SpecError("invalid time `\(text)`: expected an RFC 3339 timestamp such as 2024-01-02T15:04:05Z")
            }
            self = value
            return
        }
        guard let unix = Self.unixSeconds(bytes) else {
            throw SpecError("invalid time `\(text)`: expected an RFC 3339 timestamp (2024-01-02T15:04:05Z), a duration (10m, 1h30m, 42s) or Unix seconds")
        }
        self = unix
    }

    /// Go's time.ParseDuration: `[-+]` then one or more `<number><unit>`, units ns us µs ms s m h.
    static func duration(_ bytes: [UInt8]) -> Int64? {
        var i = 0
        var sign: Int64 = 1
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            if bytes[i] == UInt8(ascii: "-") { sign = -1 }
            i += 1
        }
        guard i < bytes.count else { return nil }
        var total: Int64 = 0
        while i < bytes.count {
            var whole: Int64 = 0, wholeDigits = 0
            while i < bytes.count, let d = bytes[i].decimalDigit {
                guard let next = whole.multipliedChecked(by: 10)?.addingChecked(d) else { return nil }
                whole = next; wholeDigits += 1; i += 1
            }
            var fraction = 0.0, fractionDigits = 0
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
                i += 1
                var scale = 0.1
                while i < bytes.count, let d = bytes[i].decimalDigit {
                    fraction += Double(d) * scale; scale /= 10; fractionDigits += 1; i += 1
                }
            }
            guard wholeDigits + fractionDigits > 0 else { return nil }
            let unitStart = i
            while i < bytes.count, bytes[i].decimalDigit == nil, bytes[i] != UInt8(ascii: ".") { i += 1 }
            let unit: Int64
            switch String(decoding: bytes[unitStart..<i], as: UTF8.self) {
            case "ns": unit = 1
            case "us", "µs", "μs": unit = 1_000
            case "ms": unit = 1_000_000
            case "s": unit = 1_000_000_000
            case "m": unit = 60_000_000_000
            case "h": unit = 3_600_000_000_000
            default: return nil
            }
            guard let part = whole.multipliedChecked(by: unit)?.addingChecked(Int64(fraction * Double(unit))),
                  let sum = total.addingChecked(part) else { return nil }
            total = sum
        }
        return sign * total
    }

    /// `SECONDS[.FRACTION]` since the epoch.
    static func unixSeconds(_ bytes: [UInt8]) -> LogTimestamp? {
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count <= 2, let seconds = Int64(decimal: parts[0]) else { return nil }
        var nanos: Int64 = 0
        if parts.count == 2 {
            guard !parts[1].isEmpty, let n = Int64(fraction: parts[1]) else { return nil }
            nanos = n
        }
        return checked(seconds: seconds, nanoseconds: nanos)
    }

    // MARK: the calendar (proleptic Gregorian; H. Hinnant's days-from-civil and back)

    static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

/// `YYYY-MM-DD[(T|t| )HH[:MM[:SS[.FRACTION]]]][Z|z|(+|-)HH[:MM]]`, taken apart.
struct DateTimeText {
    var year: Int64 = 0, month: Int64 = 0, day: Int64 = 0
    var hour: Int64 = 0, minute: Int64 = 0, second: Int64 = 0, nanosecond: Int64 = 0
    var hasTime = false
    /// Seconds east of UTC; nil: none given (local time).
    var zoneOffset: Int64?

    init?(_ bytes: [UInt8]) {
        var i = 0
        func number(_ count: Int) -> Int64? {
            guard i + count <= bytes.count, let value = Int64(decimal: bytes[i..<(i + count)]) else { return nil }
            i += count
            return value
        }
        func take(_ character: Unicode.Scalar) -> Bool {
            guard i < bytes.count, bytes[i] == UInt8(ascii: character) else { return false }
            i += 1
            return true
        }
        guard let y = number(4), take("-"), let mo = number(2), take("-"), let d = number(2) else { return nil }
        year = y; month = mo; day = d
        if take("T") || take("t") || take(" ") {
            guard let h = number(2) else { return nil }
            hour = h
            hasTime = true
            if take(":") {
                guard let m = number(2) else { return nil }
                minute = m
                if take(":") {
                    guard let s = number(2) else { return nil }
                    second = s
                    if take(".") || take(",") {
                        let start = i
                        while i < bytes.count, bytes[i].decimalDigit != nil { i += 1 }
                        guard i > start, let n = Int64(fraction: bytes[start..<i]) else { return nil }
                        nanosecond = n
                    }
                }
            }
        }
        if take("Z") || take("z") {
            zoneOffset = 0
        } else if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
            let sign: Int64 = bytes[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let h = number(2), h <= 23 else { return nil }
            var m: Int64 = 0
            if take(":") {
                guard let minutes = number(2) else { return nil }
                m = minutes
            } else if let minutes = number(2) {
                m = minutes
            }
            guard m <= 59 else { return nil }
            zoneOffset = sign * (h * 3600 + m * 60)
        }
        let daysInMonth: [Int64] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard i == bytes.count, (1...12).contains(month), day >= 1, day <= daysInMonth[Int(month) - 1],
              month != 2 || day <= 28 || (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)),
              hour <= 23, minute <= 59, second <= 59 else { return nil }
    }

    /// The moment, given the zone's offset east of UTC.
    func timestamp(zoneOffset offset: Int64?) -> LogTimestamp? {
        guard let offset else { return nil }
        let days = LogTimestamp.days(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return LogTimestamp.checked(seconds: seconds, nanoseconds: nanosecond)
    }

    /// The host's offset east of UTC at this local wall-clock time (mktime decides DST).
    func localOffset() -> Int64? {
        var t = tm()
        t.tm_year = Int32(year - 1900); t.tm_mon = Int32(month - 1); t.tm_mday = Int32(day)
        t.tm_hour = Int32(hour); t.tm_min = Int32(minute); t.tm_sec = Int32(second); t.tm_isdst = -1
        let local = mktime(&t)
        guard local != -1 else { return nil }
        let asUTC = LogTimestamp.days(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
        return asUTC - Int64(local)
    }
}

fileprivate extension UInt8 {
    var decimalDigit: Int64? { self >= 48 && self <= 57 ? Int64(self - 48) : nil }
}

fileprivate extension Int64 {
    /// Digits only (no sign), without overflow.
    init?(decimal digits: some Collection<UInt8>) {
        guard !digits.isEmpty else { return nil }
        var value: Int64 = 0
        for byte in digits {
            guard let d = byte.decimalDigit, let next = value.multipliedChecked(by: 10)?.addingChecked(d) else { return nil }
            value = next
        }
        self = value
    }

    /// The digits after a decimal point, as nanoseconds (beyond nine digits: truncated).
    init?(fraction digits: some Collection<UInt8>) {
        var value: Int64 = 0, scale: Int64 = 100_000_000
        for byte in digits {
            guard let d = byte.decimalDigit else { return nil }
            value += d * scale
            scale /= 10
        }
        self = value
    }

    func multipliedChecked(by other: Int64) -> Int64? {
        let (result, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? nil : result
    }

    func subtractingChecked(_ other: Int64) -> Int64? {
        let (result, overflow) = subtractingReportingOverflow(other)
        return overflow ? nil : result
    }

    func addingChecked(_ other: Int64) -> Int64? {
        let (result, overflow) = addingReportingOverflow(other)
        return overflow ? nil : result
    }

    func floorDivided(by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        var q = self / divisor, r = self % divisor
        if r < 0 { q -= 1; r += divisor }
        return (q, r)
    }
}
