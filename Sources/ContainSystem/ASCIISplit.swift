#if canImport(Glibc)
import Glibc
#endif

/// `split(separator:)` for an ASCII separator, found byte by byte. The runtime's own files
/// (records, leases: one line per container, read by every start) need no grapheme breaking,
/// which made Character-wise splitting most of what a start spent on a network of a hundred.
/// The separators are found in the string's contiguous UTF-8 with memchr (the generic split of
/// the UTF-8 view cost about fifty instructions a byte); the pieces share the string's storage.
extension String {
    public func splitASCII(_ separator: Unicode.Scalar, omittingEmptySubsequences: Bool = true) -> [Substring] {
        self[...].splitASCII(separator, omittingEmptySubsequences: omittingEmptySubsequences)
    }
}

extension Substring {
    public func splitASCII(_ separator: Unicode.Scalar, omittingEmptySubsequences: Bool = true) -> [Substring] {
        let byte = UInt8(ascii: separator)
        // The offsets of the separators, then one piece between each two.
        let found: [Int]? = utf8.withContiguousStorageIfAvailable { bytes in
            var cuts: [Int] = []
            guard let base = bytes.baseAddress else { return cuts }
            var at = 0
            while at < bytes.count, let hit = memchr(base + at, Int32(byte), bytes.count - at) {
                let offset = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                cuts.append(offset)
                at = offset + 1
            }
            return cuts
        }
        guard let cuts = found else {
            return utf8.split(separator: byte, omittingEmptySubsequences: omittingEmptySubsequences).map { Substring($0) }
        }
        var pieces: [Substring] = []
        pieces.reserveCapacity(cuts.count + 1)
        var start = utf8.startIndex, offset = 0
        for cut in cuts + [utf8.count] {
            let end = utf8.index(start, offsetBy: cut - offset)
            if !omittingEmptySubsequences || end != start { pieces.append(self[start..<end]) }
            if cut < utf8.count { start = utf8.index(after: end) }
            offset = cut + 1
        }
        return pieces
    }
}
