/// Sizes as docker prints them (go-units' HumanSize): decimal units, at most four significant
/// digits, no space: `0B`, `212B`, `1.234kB`, `12.35MB`.
enum HumanSize {
    static let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"]

    static func format(_ bytes: Int64) -> String {
        var value = Double(max(bytes, 0))
        var unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return significant(value, digits: 4) + units[unit]
    }

    /// `%.4g` for 0 <= value < 1000 (what is left after the unit is picked): rounded to
    /// `digits` significant digits, trailing zeros dropped.
    static func significant(_ value: Double, digits: Int) -> String {
        if value == 0 { return "0" }
        var integerDigits = 1
        while integerDigits < digits, value >= pow10(integerDigits) { integerDigits += 1 }
        let decimals = digits - integerDigits
        let scale = Int64(pow10(decimals))
        let scaled = Int64((value * Double(scale)).rounded())
        var text = String(scaled / scale)
        var fraction = String(scaled % scale)
        if decimals > 0 {
            fraction = String(repeating: "0", count: decimals - fraction.count) + fraction
            while fraction.hasSuffix("0") { fraction.removeLast() }
            if !fraction.isEmpty { text += "." + fraction }
        }
        return text
    }

    private static func pow10(_ n: Int) -> Double {
        var result = 1.0
        for _ in 0..<n { result *= 10 }
        return result
    }
}
