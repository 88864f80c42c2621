/// Ethernet addresses as people write them: `02:42:0a:58:00:02`.
public enum MACAddress {
    /// Six two-digit hex octets separated by `:` (or `-`); nil for anything else.
    public static func parse(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: text.contains("-") ? "-" : ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard part.count == 2, let byte = UInt8(part, radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    /// A container's own address must be unicast (the group bit of the first octet clear) and
    /// not all zeros, as docker requires of `--mac-address`.
    public static func validateForInterface(_ text: String) throws(NetworkError) -> [UInt8] {
        guard let bytes = parse(text) else {
            throw .invalid("invalid --mac-address `\(text)`: expected six hex octets such as 02:42:ac:11:00:02")
        }
        guard bytes[0] & 1 == 0, bytes.contains(where: { $0 != 0 }) else {
            throw .invalid("invalid --mac-address `\(text)`: a multicast or all-zero address cannot be an interface's")
        }
        return bytes
    }

    public static func text(_ bytes: [UInt8]) -> String {
        bytes.map { b in let h = String(b, radix: 16); return h.count == 1 ? "0" + h : h }.joined(separator: ":")
    }
}
