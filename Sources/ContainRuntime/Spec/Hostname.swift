#if canImport(Glibc)
import Glibc
#endif

/// A hostname the kernel and resolvers accept: RFC 1123 labels joined by dots,
/// at most 64 bytes (HOST_NAME_MAX).
public enum Hostname {
    /// This process's UTS namespace's name (the host's, for `--uts host`).
    public static func current() -> String {
        var buffer = [CChar](repeating: 0, count: maximumLength + 1)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static let maximumLength = 64

    public static func validate(_ name: String) throws(SpecError) -> String {
        guard !name.isEmpty else { throw SpecError("invalid hostname: it is empty") }
        guard name.utf8.count <= maximumLength else {
            throw SpecError("invalid hostname `\(name)`: longer than \(maximumLength) characters")
        }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.utf8.count <= 63 else {
                throw SpecError("invalid hostname `\(name)`: each dot-separated label must be 1 to 63 characters")
            }
            guard label.utf8.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "-") }) else {
                throw SpecError("invalid hostname `\(name)`: only letters, digits, '-' and '.' are allowed")
            }
            guard label.first != "-", label.last != "-" else {
                throw SpecError("invalid hostname `\(name)`: a label may not start or end with '-'")
            }
        }
        return name
    }

    private static func isAlnum(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
    }
}
