#if canImport(Glibc)
import Glibc
#endif

/// The inodes on one filesystem that some process holds a flock(2) lock on, read from
/// /proc/locks in one go: what a runtime's liveness costs when many records must be looked at
/// (one read, instead of an open, a probing flock and a close per record).
///
/// It only ever says "held": a lock missing from it may belong to a process outside this
/// process's PID namespace (the kernel leaves those out) or be taken a moment later, so a
/// caller probes the lock itself before it acts on one that looks free.
public struct HeldLocks: Sendable {
    private let inodes: Set<UInt64>

    /// The holders of flock locks on `device` (a `st_dev`); none when /proc/locks cannot be read.
    public static func read(device: UInt64) -> HeldLocks {
        HeldLocks(inodes: parse(bytes: readAll("/proc/locks"), device: device))
    }

    public func contains(inode: UInt64) -> Bool { inodes.contains(inode) }

    /// The whole file in reads of 64 KiB: the kernel writes /proc/locks from the start of its
    /// list again for every read(2), so small reads cost a walk of the list each.
    static func readAll(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return n < 0 ? [] : bytes }
            bytes.append(contentsOf: chunk[0..<n])
        }
    }

    public static func parse(_ text: String, device: UInt64) -> Set<UInt64> {
        parse(bytes: Array(text.utf8), device: device)
    }

    /// `1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF`: a held flock lock (a waiter's line has
    /// `->` after its number), the device's major and minor in hex, the inode in decimal. Byte
    /// by byte, one pass: a line per lock on the machine, two per live container of contain's.
    static func parse(bytes: [UInt8], device: UInt64) -> Set<UInt64> {
        let (major, minor) = split(device: device)
        let flock = Array("FLOCK".utf8)
        var inodes: Set<UInt64> = []
        var i = 0
        let n = bytes.count
        while i < n {
            var field = 0, isFlock = false
            // Fields are separated by runs of spaces; the line ends at a newline.
            while i < n && bytes[i] != UInt8(ascii: "\n") {
                while i < n && bytes[i] == UInt8(ascii: " ") { i += 1 }
                let start = i
                while i < n && bytes[i] != UInt8(ascii: " ") && bytes[i] != UInt8(ascii: "\n") { i += 1 }
                if start == i { continue }
                if field == 1 {
                    isFlock = i - start == flock.count && bytes[start..<i].elementsEqual(flock)
                } else if field == 5 && isFlock, let (ma, mi, inode) = place(bytes[start..<i]), ma == major, mi == minor {
                    inodes.insert(inode)
                }
                field += 1
            }
            i += 1
        }
        return inodes
    }

    /// `fd:01:5678`: major and minor in hex, the inode in decimal.
    private static func place(_ text: ArraySlice<UInt8>) -> (UInt64, UInt64, UInt64)? {
        var values: [UInt64] = [0, 0, 0]
        var part = 0, digits = 0
        for byte in text {
            if byte == UInt8(ascii: ":") {
                guard digits > 0, part < 2 else { return nil }
                part += 1
                digits = 0
                continue
            }
            let digit: UInt64
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f") where part < 2: digit = UInt64(byte - UInt8(ascii: "a") + 10)
            default: return nil
            }
            values[part] = values[part] * (part < 2 ? 16 : 10) + digit
            digits += 1
        }
        guard part == 2, digits > 0 else { return nil }
        return (values[0], values[1], values[2])
    }

    /// glibc's major() and minor() of a `st_dev`.
    public static func split(device: UInt64) -> (major: UInt64, minor: UInt64) {
        (((device >> 8) & 0xfff) | ((device >> 32) & 0xffff_f000), (device & 0xff) | ((device >> 12) & 0xffff_ff00))
    }
}
