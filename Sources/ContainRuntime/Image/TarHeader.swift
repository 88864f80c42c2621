/// One tar header block (ustar, with GNU and pax extensions handled by the reader): pure
/// parsing, unit-tested.
public struct TarHeader: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case file, directory, symlink, hardlink, characterDevice, blockDevice, fifo
        case gnuLongName, gnuLongLink, paxExtended, paxGlobal
        case other(UInt8)
    }

    public var name: String
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var size: UInt64
    public var kind: Kind
    public var linkName: String
    public var deviceMajor: UInt32
    public var deviceMinor: UInt32

    public static let blockSize = 512

    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// nil for an all-zero block (the end of the archive).
    public init?(block: [UInt8]) throws(Invalid) {
        guard block.count == Self.blockSize else { throw Invalid(description: "short header block") }
        if block.allSatisfy({ $0 == 0 }) { return nil }
        // The checksum treats its own field as spaces.
        var sum: UInt64 = 0
        for (i, b) in block.enumerated() { sum += (148..<156).contains(i) ? 32 : UInt64(b) }
        guard let stored = Self.octal(block[148..<156]), stored == sum else {
            throw Invalid(description: "not a tar archive (header checksum mismatch)")
        }
        func text(_ range: Range<Int>) -> String {
            String(decoding: block[range].prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        var name = text(0..<100)
        let isUstar = block[257..<262].elementsEqual("ustar".utf8)
        if isUstar {
            let prefix = text(345..<500)
            if !prefix.isEmpty { name = prefix + "/" + name }
        }
        self.name = name
        mode = UInt32(truncatingIfNeeded: Self.number(block[100..<108]) ?? 0o644)
        uid = UInt32(truncatingIfNeeded: Self.number(block[108..<116]) ?? 0)
        gid = UInt32(truncatingIfNeeded: Self.number(block[116..<124]) ?? 0)
        guard let size = Self.number(block[124..<136]) else { throw Invalid(description: "bad size field") }
        self.size = size
        switch block[156] {
        case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): kind = .file
        case UInt8(ascii: "1"): kind = .hardlink
        case UInt8(ascii: "2"): kind = .symlink
        case UInt8(ascii: "3"): kind = .characterDevice
        case UInt8(ascii: "4"): kind = .blockDevice
        case UInt8(ascii: "5"): kind = .directory
        case UInt8(ascii: "6"): kind = .fifo
        case UInt8(ascii: "L"): kind = .gnuLongName
        case UInt8(ascii: "K"): kind = .gnuLongLink
        case UInt8(ascii: "x"): kind = .paxExtended
        case UInt8(ascii: "g"): kind = .paxGlobal
        case let other: kind = .other(other)
        }
        linkName = text(157..<257)
        deviceMajor = UInt32(truncatingIfNeeded: Self.number(block[329..<337]) ?? 0)
        deviceMinor = UInt32(truncatingIfNeeded: Self.number(block[337..<345]) ?? 0)
    }

    /// Octal, space or NUL terminated; or GNU base-256 when the high bit of the first byte is set.
    static func number(_ field: ArraySlice<UInt8>) -> UInt64? {
        if let first = field.first, first & 0x80 != 0 {
            var value: UInt64 = UInt64(first & 0x7f)
            for b in field.dropFirst() { value = value << 8 | UInt64(b) }
            return value
        }
        return octal(field)
    }

    static func octal(_ field: ArraySlice<UInt8>) -> UInt64? {
        var value: UInt64 = 0
        var seen = false
        for b in field {
            if b == 0 || b == 32 { if seen { break } else { continue } }
            guard b >= 48 && b <= 55 else { return nil }
            value = value * 8 + UInt64(b - 48)
            seen = true
        }
        return value
    }

    /// pax extended header records: "LEN key=value\n" ...
    public static func paxRecords(_ data: [UInt8]) -> [String: String] {
        var records: [String: String] = [:]
        var i = 0
        while i < data.count {
            guard let space = data[i...].firstIndex(of: 32),
                  let length = Int(String(decoding: data[i..<space], as: UTF8.self)), length > 0, i + length <= data.count else { break }
            let record = data[(space + 1)..<(i + length - 1)]  // without the trailing newline
            if let eq = record.firstIndex(of: UInt8(ascii: "=")) {
                records[String(decoding: record[record.startIndex..<eq], as: UTF8.self)] =
                    String(decoding: record[(eq + 1)...], as: UTF8.self)
            }
            i += length
        }
        return records
    }

    /// The entry's path as components inside the root: leading `/` and `./` dropped; nil if
    /// any component is `..` (it would leave the root).
    public static func components(_ path: String) -> [String]? {
        let parts = path.split(separator: "/").map(String.init).filter { $0 != "." && !$0.isEmpty }
        return parts.contains("..") ? nil : parts
    }
}
