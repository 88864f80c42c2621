/// Sizes as people type them: `64M`, `1G`, `512k`, `1.5g`, `256MiB`, `1048576`.
///
/// As docker does, every unit is binary: K, KB and KiB all mean 1024 bytes.
public struct ByteSize: Equatable, Comparable, CustomStringConvertible, Sendable {
    public let bytes: UInt64

    public init(bytes: UInt64) { self.bytes = bytes }

    private static let units: [String: UInt64] = [
        "": 1, "b": 1,
        "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
        "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
        "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
        "t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
    ]

    public init(parsing text: String) throws(SpecError) {
        let bad = SpecError("invalid size `\(text)`: expected a positive number with an optional unit (K, M, G, T), e.g. 64M")
        let scalars = Array(text.unicodeScalars)
        var i = 0
        var whole: UInt64 = 0
        var digits = 0
        while i < scalars.count, let d = Self.digit(scalars[i]) {
            let (m, o1) = whole.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(d)
            if o1 || o2 { throw bad }
            whole = s; digits += 1; i += 1
        }
        var fraction: Double = 0
        if i < scalars.count, scalars[i] == "." {
            i += 1
            var scale = 0.1
            var fractionDigits = 0
            while i < scalars.count, let d = Self.digit(scalars[i]) {
                fraction += Double(d) * scale; scale /= 10; fractionDigits += 1; i += 1
            }
            if fractionDigits == 0 { throw bad }
        }
        guard digits > 0 else { throw bad }
        let unitText = String(String.UnicodeScalarView(scalars[i...])).lowercased()
        guard let multiplier = Self.units[unitText] else { throw bad }
        let (base, overflow) = whole.multipliedReportingOverflow(by: multiplier)
        if overflow { throw bad }
        let extra = UInt64(fraction * Double(multiplier))
        let (total, overflow2) = base.addingReportingOverflow(extra)
        if overflow2 || total == 0 { throw bad }
        bytes = total
    }

    private static func digit(_ s: Unicode.Scalar) -> UInt64? {
        s >= "0" && s <= "9" ? UInt64(s.value - 48) : nil
    }

    /// The shortest exact form (`64M`, `1536K`), or a rounded one with one decimal (`3.1M`)
    /// when `exact` is false, for usage reports.
    public func formatted(exact: Bool = true) -> String {
        let steps: [(String, UInt64)] = [("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)]
        for (suffix, size) in steps {
            if exact {
                if bytes >= size && bytes % size == 0 { return "\(bytes / size)\(suffix)" }
            } else if bytes >= size {
                let tenths = (bytes * 10 + size / 2) / size
                return tenths % 10 == 0 ? "\(tenths / 10)\(suffix)" : "\(tenths / 10).\(tenths % 10)\(suffix)"
            }
        }
        return "\(bytes)"
    }

    public var description: String { formatted() }
    public static func < (a: ByteSize, b: ByteSize) -> Bool { a.bytes < b.bytes }
}
