import CContainShim
#if canImport(Glibc)
import Glibc
#endif

public enum Identifiers {
    /// 64 hex digits from getrandom(2), like a docker container id.
    public static func randomHex(bytes count: Int = 32) throws -> String {
        var bytes = [UInt8](repeating: 0, count: count)
        let n = try sys("getrandom") { bytes.withUnsafeMutableBytes { cshim_getrandom($0.baseAddress, UInt($0.count)) } }
        guard n == count else { throw SystemError("getrandom", errno: EIO) }
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xf)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
