/// How much output a detached container's log keeps: docker's `--log-opt max-size=20m
/// --log-opt max-file=5`, with the defaults of docker's `local` driver.
///
/// When the log file would grow past `maxSize`, it is renamed to `.1` (`.1` to `.2` and so on,
/// the oldest dropped) and a new one begun, so at most `maxFiles` files of at most `maxSize`
/// bytes each are kept (one record longer than `maxSize` gets a file of its own).
public struct LogOptions: Equatable, Sendable {
    /// Bytes per file; `UInt64.max` (`max-size=-1`): one file that is never rotated.
    public var maxSize: UInt64
    /// Files kept, the one being written included (at least 1).
    public var maxFiles: Int

    public static let defaultMaxSize: UInt64 = 20 << 20
    public static let defaultMaxFiles = 5

    public init(maxSize: UInt64 = defaultMaxSize, maxFiles: Int = defaultMaxFiles) {
        self.maxSize = maxSize
        self.maxFiles = maxFiles
    }

    /// `--log-opt KEY=VALUE` values, in order (a later one wins): `max-size=SIZE` (`10m`, `512k`,
    /// `1g`: binary units, as every size in contain; `-1`: no limit) and `max-file=N` (N >= 1).
    public static func parse(_ options: [String]) throws(SpecError) -> LogOptions {
        var result = LogOptions()
        for option in options {
            guard let equals = option.firstIndex(of: "=") else {
                throw SpecError("invalid log option `\(option)`: expected KEY=VALUE, e.g. max-size=10m")
            }
            let key = option[..<equals], value = String(option[option.index(after: equals)...])
            switch key {
            case "max-size":
                if value == "-1" {
                    result.maxSize = .max
                } else {
                    do { result.maxSize = try ByteSize(parsing: value).bytes } catch {
                        throw SpecError("invalid log option `\(option)`: max-size is a size such as 10m, or -1 for no limit")
                    }
                }
            case "max-file":
                guard let count = Int(value), count >= 1 else {
                    throw SpecError("invalid log option `\(option)`: max-file is a number of files, at least 1")
                }
                result.maxFiles = count
            default:
                throw SpecError("unknown log option `\(key)`: contain's log takes max-size and max-file")
            }
        }
        return result
    }
}
