/// `split(separator:)` for an ASCII separator, found byte by byte. The runtime's own files
/// (records, leases: one line per container, read by every start) need no grapheme breaking,
/// which made Character-wise splitting most of what a start spent on a network of a hundred.
extension String {
    public func splitASCII(_ separator: Unicode.Scalar, omittingEmptySubsequences: Bool = true) -> [Substring] {
        utf8.split(separator: UInt8(ascii: separator), omittingEmptySubsequences: omittingEmptySubsequences).map { Substring($0) }
    }
}

extension Substring {
    public func splitASCII(_ separator: Unicode.Scalar, omittingEmptySubsequences: Bool = true) -> [Substring] {
        utf8.split(separator: UInt8(ascii: separator), omittingEmptySubsequences: omittingEmptySubsequences).map { Substring($0) }
    }
}
