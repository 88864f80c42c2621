/// Link impairment (`contain net impair`, `run --impair`): the delay, loss and rate a link's
/// packets suffer, as `tc qdisc ... netem` and `tbf` apply them. This file is the value and
/// its parsing; `QdiscRequests` turns it into rtnetlink requests.
///
/// Units are tc's: times `us|usec|ms|msec|s|sec`, rates `bit|kbit|mbit|gbit` (1000-based) or
/// `bps|kbps|mbps|gbps` (bytes per second), percentages with their `%`. Unlike tc, a bare
/// number is refused: tc reads a bare time as microseconds and a bare rate as bytes per
/// second, which nobody guesses.
public struct Impairment: Equatable, Sendable, CustomStringConvertible {
    public var delay: ImpairmentTime?
    /// Varies the delay by up to this much either way; needs a delay.
    public var jitter: ImpairmentTime?
    public var loss: Percent?
    public var duplicate: Percent?
    public var corrupt: Percent?
    /// Sends this share of packets at once while the rest wait the delay; needs a delay.
    public var reorder: Percent?
    public var rate: Rate?
    /// netem's queue in packets (tc's default 1000 when nil); needs a netem impairment.
    public var limit: UInt32?

    /// The keys of the comma form, in the order `description` and `specification` use.
    public static let keys = ["delay", "jitter", "loss", "duplicate", "corrupt", "reorder", "rate", "limit"]

    /// No impairment; set the fields, then `validate()`.
    public init() {}

    /// The comma form of `run --impair`:
    /// `delay=40ms,jitter=5ms,loss=1%,rate=10mbit,duplicate=1%,corrupt=0.1%,reorder=25%,limit=100`.
    public init(parsing text: String) throws(NetworkError) {
        var values: [String: String] = [:]
        let trimmed = Self.trimmed(Substring(text))
        guard !trimmed.isEmpty else { throw Self.emptyError }
        for item in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let item = Self.trimmed(item)
            guard !item.isEmpty else { throw .invalid("invalid impairment `\(text)`: an empty item between commas") }
            guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                throw .invalid("invalid impairment `\(item)`: expected KEY=VALUE, e.g. delay=40ms")
            }
            let key = Self.trimmed(item[..<equals]).lowercased()
            let value = Self.trimmed(item[item.index(after: equals)...])
            guard Self.keys.contains(key) else {
                throw .invalid("unknown impairment `\(key)`: expected delay, jitter, loss, rate, duplicate, corrupt, reorder or limit")
            }
            guard values[key] == nil else { throw .invalid("impairment `\(key)` is given twice") }
            values[key] = String(value)
        }
        try self.init(delay: values["delay"], jitter: values["jitter"], loss: values["loss"], rate: values["rate"],
                      duplicate: values["duplicate"], corrupt: values["corrupt"], reorder: values["reorder"],
                      limit: values["limit"])
    }

    /// From separate flags (`--delay 40ms --loss 1.5%` ...), each optional.
    public init(delay: String?, jitter: String?, loss: String?, rate: String?, duplicate: String?, corrupt: String?,
                reorder: String?, limit: String?) throws(NetworkError) {
        self.init()
        if let delay { self.delay = try ImpairmentTime(parsing: delay, name: "delay") }
        if let jitter { self.jitter = try ImpairmentTime(parsing: jitter, name: "jitter") }
        if let loss { self.loss = try Percent(parsing: loss, name: "loss") }
        if let duplicate { self.duplicate = try Percent(parsing: duplicate, name: "duplicate") }
        if let corrupt { self.corrupt = try Percent(parsing: corrupt, name: "corrupt") }
        if let reorder { self.reorder = try Percent(parsing: reorder, name: "reorder") }
        if let rate { self.rate = try Rate(parsing: rate) }
        if let limit {
            guard let packets = UInt32(Self.trimmed(Substring(limit))) else {
                throw .invalid("invalid limit `\(limit)`: expected a number of packets such as 1000")
            }
            guard packets > 0 else { throw .invalid("invalid limit `\(limit)`: netem's queue holds at least 1 packet") }
            self.limit = packets
        }
        try validate()
    }

    /// Refuses combinations netem cannot apply, each with one line saying why.
    public func validate() throws(NetworkError) {
        if isEmpty { throw Self.emptyError }
        if jitter != nil && delay == nil { throw .invalid("jitter needs a delay: it varies the delay by up to that much") }
        if let jitter, jitter.microseconds > ImpairmentTime.maximumJitter.microseconds {
            throw .invalid("jitter \(jitter) is above the kernel's limit of 2147483us (about 2.1s)")
        }
        if reorder != nil && (delay?.microseconds ?? 0) == 0 {
            throw .invalid("reorder needs a delay: netem reorders by sending some packets at once while the rest wait the delay")
        }
        if limit != nil && !needsNetem {
            throw .invalid("limit is netem's queue in packets: it needs a delay, jitter, loss, duplicate, corrupt or reorder")
        }
    }

    /// Anything but a rate (and the limit of netem's queue) needs netem; a rate alone is tbf's.
    public var needsNetem: Bool {
        delay != nil || jitter != nil || loss != nil || duplicate != nil || corrupt != nil || reorder != nil
    }

    public var isEmpty: Bool { self == Impairment() }

    /// tc-like, for messages and `net inspect`: `delay 40ms jitter 5ms loss 1.5% rate 10mbit`.
    public var description: String {
        fields.map { "\($0.key) \($0.value)" }.joined(separator: " ")
    }

    /// The comma form `init(parsing:)` reads back, for a configuration that records it.
    public var specification: String {
        fields.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    private var fields: [(key: String, value: String)] {
        var result: [(key: String, value: String)] = []
        if let delay { result.append(("delay", delay.description)) }
        if let jitter { result.append(("jitter", jitter.description)) }
        if let loss { result.append(("loss", loss.description)) }
        if let duplicate { result.append(("duplicate", duplicate.description)) }
        if let corrupt { result.append(("corrupt", corrupt.description)) }
        if let reorder { result.append(("reorder", reorder.description)) }
        if let rate { result.append(("rate", rate.description)) }
        if let limit { result.append(("limit", String(limit))) }
        return result
    }

    private static let emptyError = NetworkError.invalid(
        "empty impairment: give at least one of delay, jitter, loss, rate, duplicate, corrupt or reorder")

    static func trimmed(_ text: Substring) -> Substring {
        var text = text
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        return text
    }
}

/// Which packets of a container's link are impaired: those it sends (egress), those it
/// receives (ingress), or both.
public enum ImpairmentDirection: String, Equatable, Sendable, CaseIterable {
    case egress, ingress, both

    public init(parsing text: String) throws(NetworkError) {
        guard let direction = ImpairmentDirection(rawValue: String(Impairment.trimmed(Substring(text))).lowercased()) else {
            throw .invalid("invalid direction `\(text)`: expected egress, ingress or both")
        }
        self = direction
    }
}

/// A netem time in microseconds (named so as not to clash with Swift's `Duration`).
public struct ImpairmentTime: Equatable, Sendable, CustomStringConvertible {
    public var microseconds: UInt64

    /// The kernel caps netem's jitter at INT_MAX nanoseconds (about 2.1 s).
    public static let maximumJitter = ImpairmentTime(microseconds: UInt64(Int32.max) / 1000)
    /// Nanoseconds must fit the kernel's s64 (TCA_NETEM_LATENCY64).
    static let maximum = ImpairmentTime(microseconds: UInt64(Int64.max) / 1000)

    public init(microseconds: UInt64) { self.microseconds = microseconds }

    public static func milliseconds(_ value: UInt64) -> ImpairmentTime { ImpairmentTime(microseconds: value * 1000) }

    public var nanoseconds: UInt64 { microseconds * 1000 }

    /// `40ms`, `1.5ms`, `250us`, `2s`; `name` (delay, jitter) goes into the error message.
    public init(parsing text: String, name: String = "time") throws(NetworkError) {
        let units: [String: UInt64] = ["us": 1, "usec": 1, "usecs": 1, "ms": 1000, "msec": 1000, "msecs": 1000,
                                       "s": 1_000_000, "sec": 1_000_000, "secs": 1_000_000]
        let parsed = try ScaledNumber.parse(text, name: name, kind: "a time such as 40ms or 1.5ms",
                                            example: "40ms", unitList: "us, ms, s", units: units)
        guard let value = parsed.exactValue else {
            throw .invalid("invalid \(name) `\(text)`: finer than a microsecond")
        }
        guard value <= Self.maximum.microseconds else { throw .invalid("invalid \(name) `\(text)`: too large") }
        microseconds = value
    }

    /// In the largest unit that keeps it short: `40ms`, `1.5ms`, `250us`, `2s`.
    public var description: String {
        if microseconds >= 1_000_000 { return ScaledNumber.decimal(microseconds, scale: 6) + "s" }
        if microseconds >= 1000 { return ScaledNumber.decimal(microseconds, scale: 3) + "ms" }
        return "\(microseconds)us"
    }
}

/// A share of packets, 0...100, to six decimal places (finer than that the kernel's u32
/// probability cannot tell apart anyway).
public struct Percent: Equatable, Sendable, CustomStringConvertible {
    public var value: Double

    public init(_ value: Double) { self.value = Self.rounded(value) }

    /// `1.5%`; the `%` is required.
    public init(parsing text: String, name: String = "percentage") throws(NetworkError) {
        let trimmed = Impairment.trimmed(Substring(text))
        guard trimmed.last == "%" else {
            throw .invalid("invalid \(name) `\(text)`: give a percentage, e.g. 1.5%")
        }
        let number = trimmed.dropLast()
        if number.first == "-" { throw .invalid("invalid \(name) `\(text)`: a percentage is between 0% and 100%") }
        guard ScaledNumber.isDecimal(number), let value = Double(String(number)) else {
            throw .invalid("invalid \(name) `\(text)`: expected a percentage such as 1.5%")
        }
        guard value <= 100 else { throw .invalid("invalid \(name) `\(text)`: a percentage is between 0% and 100%") }
        self.init(value)
    }

    /// As the kernel takes it: value/100 of UINT32_MAX, rounded to nearest as tc's rint().
    public var probability: UInt32 {
        UInt32((value / 100 * Double(UInt32.max)).rounded(.toNearestOrEven))
    }

    /// From the kernel's probability.
    public init(probability: UInt32) {
        self.init(Double(probability) / Double(UInt32.max) * 100)
    }

    public var description: String {
        ScaledNumber.decimal(UInt64((value * 1_000_000).rounded()), scale: 6) + "%"
    }

    private static func rounded(_ value: Double) -> Double { (value * 1_000_000).rounded() / 1_000_000 }
}

/// A rate in bits per second.
public struct Rate: Equatable, Sendable, CustomStringConvertible {
    public var bitsPerSecond: UInt64

    public init(bitsPerSecond: UInt64) { self.bitsPerSecond = bitsPerSecond }

    /// What the kernel takes (netem's and tbf's rates are bytes per second).
    public var bytesPerSecond: UInt64 { bitsPerSecond / 8 }

    /// `10mbit`, `1.5gbit`, `100kbps` (bytes); tc's units, 1000-based.
    public init(parsing text: String) throws(NetworkError) {
        let units: [String: UInt64] = ["bit": 1, "kbit": 1000, "mbit": 1_000_000, "gbit": 1_000_000_000,
                                       "bps": 8, "kbps": 8000, "mbps": 8_000_000, "gbps": 8_000_000_000]
        let parsed = try ScaledNumber.parse(text, name: "rate", kind: "a rate such as 10mbit",
                                            example: "10mbit",
                                            unitList: "bit, kbit, mbit, gbit; bps, kbps, mbps, gbps for bytes",
                                            units: units)
        let bits = parsed.truncatedValue
        guard bits > 0 else { throw .invalid("invalid rate `\(text)`: a rate must be above 0") }
        guard bits >= 8 else { throw .invalid("invalid rate `\(text)`: the kernel's rates are whole bytes per second, at least 8bit") }
        bitsPerSecond = bits
    }

    /// In the largest unit that keeps it short: `10mbit`, `1.5gbit`, `800bit`.
    public var description: String {
        if bitsPerSecond >= 1_000_000_000 { return ScaledNumber.decimal(bitsPerSecond, scale: 9) + "gbit" }
        if bitsPerSecond >= 1_000_000 { return ScaledNumber.decimal(bitsPerSecond, scale: 6) + "mbit" }
        if bitsPerSecond >= 1000 { return ScaledNumber.decimal(bitsPerSecond, scale: 3) + "kbit" }
        return "\(bitsPerSecond)bit"
    }
}

/// A decimal number as written ("1.5", "40", ".5"), times a unit, in exact integer arithmetic:
/// value = mantissa × multiplier / 10^scale.
struct ScaledNumber {
    var mantissa: UInt64
    var scale: Int
    var multiplier: UInt64

    /// The value, or nil when it is not a whole number of the base unit.
    var exactValue: UInt64? {
        let (product, divisor) = scaled
        return product % divisor == 0 ? product / divisor : nil
    }

    var truncatedValue: UInt64 { scaled.0 / scaled.1 }

    private var scaled: (UInt64, UInt64) {
        var divisor: UInt64 = 1
        for _ in 0..<scale { divisor *= 10 }
        return (mantissa * multiplier, divisor)
    }

    static func isDecimal(_ text: Substring) -> Bool {
        text.contains(where: \.isASCIIDigit) && text.allSatisfy { $0.isASCIIDigit || $0 == "." }
            && text.filter { $0 == "." }.count <= 1
    }

    /// Splits `text` into a number and a unit from `units`, with one clear error per way it
    /// can be wrong.
    static func parse(_ text: String, name: String, kind: String, example: String, unitList: String,
                      units: [String: UInt64]) throws(NetworkError) -> ScaledNumber {
        let trimmed = Impairment.trimmed(Substring(text))
        if trimmed.first == "-" { throw .invalid("invalid \(name) `\(text)`: cannot be negative") }
        let number = trimmed.prefix { $0.isASCIIDigit || $0 == "." }
        let unit = trimmed[number.endIndex...].lowercased()
        guard isDecimal(number) else { throw .invalid("invalid \(name) `\(text)`: expected \(kind)") }
        guard !unit.isEmpty else { throw .invalid("invalid \(name) `\(text)`: give a unit, e.g. \(example) (\(unitList))") }
        guard let multiplier = units[unit] else {
            throw .invalid("invalid \(name) `\(text)`: unknown unit `\(unit)` (\(unitList))")
        }
        var mantissa: UInt64 = 0
        var scale = 0
        var seenPoint = false
        for character in number {
            if character == "." { seenPoint = true; continue }
            let (times10, overflow1) = mantissa.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = times10.addingReportingOverflow(UInt64(character.asciiValue! - 48))
            guard !overflow1, !overflow2, scale < 18 else { throw .invalid("invalid \(name) `\(text)`: too large or too precise") }
            mantissa = next
            if seenPoint { scale += 1 }
        }
        guard !mantissa.multipliedReportingOverflow(by: multiplier).overflow else {
            throw .invalid("invalid \(name) `\(text)`: too large")
        }
        return ScaledNumber(mantissa: mantissa, scale: scale, multiplier: multiplier)
    }

    /// `value / 10^scale` written exactly, without trailing zeros: decimal(1500, 3) == "1.5".
    static func decimal(_ value: UInt64, scale: Int) -> String {
        var divisor: UInt64 = 1
        for _ in 0..<scale { divisor *= 10 }
        let whole = value / divisor
        var fraction = value % divisor
        guard fraction > 0 else { return String(whole) }
        var digits = scale
        while fraction % 10 == 0 { fraction /= 10; digits -= 1 }
        let text = String(fraction)
        return "\(whole)." + String(repeating: "0", count: digits - text.count) + text
    }
}

private extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
