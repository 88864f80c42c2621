import CLibyaml

/// 1-based position in the text.
public struct YAMLMark: Equatable, Sendable {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
}

/// A node of a YAML document, aliases expanded, tags ignored.
public struct YAMLNode: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case scalar(String)
        case sequence([YAMLNode])
        /// Pairs in the file's order. Keys are scalars, unique by their text (`a` and `'a'` are one key).
        case mapping([YAMLPair])
    }

    public var kind: Kind
    /// Where the node starts (for a block mapping: its first key).
    public var mark: YAMLMark
    /// A scalar written without quotes (plain style): only such a scalar can mean null (`~`, `null`, empty), true/false or a number.
    public var isPlain: Bool

    public init(kind: Kind, mark: YAMLMark, isPlain: Bool = true) {
        self.kind = kind
        self.mark = mark
        self.isPlain = isPlain
    }
}

public struct YAMLPair: Equatable, Sendable {
    public var key: YAMLNode
    public var value: YAMLNode

    public init(key: YAMLNode, value: YAMLNode) {
        self.key = key
        self.value = value
    }
}

public struct YAMLError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public var mark: YAMLMark?

    public init(message: String, mark: YAMLMark? = nil) {
        self.message = message
        self.mark = mark
    }

    /// "line L, column C: message", or the message alone when there is no place.
    public var description: String {
        guard let mark else { return message }
        return "line \(mark.line), column \(mark.column): \(message)"
    }
}

/// YAML through libyaml (loaded on first use, see CLibyaml).
public enum YAML {
    /// The most nodes a document may expand to: aliases repeat what their anchor names, so a
    /// small file can otherwise mean billions of nodes.
    static let nodeLimit = 100_000
    /// The deepest nesting taken: far beyond any lab file, well within a thread's stack (building,
    /// comparing and freeing a tree all recurse).
    static let depthLimit = 100

    /// The document's root node; nil for an empty document (or only comments).
    public static func parse(_ text: String) throws(YAMLError) -> YAMLNode? {
        var text = text
        return try text.withUTF8 { bytes in Result { () throws(YAMLError) in try parse(utf8: bytes) } }.get()
    }

    /// The same from bytes as a file holds them: text that is not UTF-8 is refused by libyaml
    /// with the place of the first bad byte, where decoding it into a String would have replaced
    /// that byte silently.
    public static func parse(bytes: [UInt8]) throws(YAMLError) -> YAMLNode? {
        try bytes.withUnsafeBufferPointer { bytes in Result { () throws(YAMLError) in try parse(utf8: bytes) } }.get()
    }

    private static func parse(utf8 bytes: UnsafeBufferPointer<UInt8>) throws(YAMLError) -> YAMLNode? {
        var document: OpaquePointer?
        var line = 0, column = 0
        var buffer = [CChar](repeating: 0, count: 512)
        let status = buffer.withUnsafeMutableBufferPointer { error in
            contain_yaml_load(bytes.baseAddress, bytes.count, &document, &line, &column, error.baseAddress!, error.count)
        }
        let mark = line > 0 ? YAMLMark(line: line, column: column) : nil
        switch status {
        case 0: break
        case Int32(CONTAIN_YAML_MORE_DOCUMENTS): throw YAMLError(message: "a lab file holds one YAML document", mark: mark)
        default:
            let message = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw YAMLError(message: message, mark: mark)
        }
        guard let document else { return nil }
        defer { contain_yaml_free(document) }
        var builder = TreeBuilder(document: document)
        return try builder.node(contain_yaml_root(document), depth: 1)
    }
}

/// Turns libyaml's node graph (an alias is a second edge to its anchor's node) into a tree,
/// counting every copy an alias makes.
private struct TreeBuilder {
    let document: OpaquePointer
    var made = 0
    /// The nodes being built: an alias to one of them would make the tree infinite.
    var open: [Bool]

    init(document: OpaquePointer) {
        self.document = document
        open = Array(repeating: false, count: Int(contain_yaml_node_count(document)) + 1)
    }

    mutating func node(_ index: Int32, depth: Int) throws(YAMLError) -> YAMLNode {
        var raw = contain_yaml_node()
        guard index > 0, Int(index) < open.count, contain_yaml_node(document, index, &raw) == 0 else {
            throw YAMLError(message: "libyaml returned a broken document")
        }
        let mark = YAMLMark(line: raw.line, column: raw.column)
        made += 1
        guard made <= YAML.nodeLimit else {
            throw YAMLError(message: "the document expands to more than \(YAML.nodeLimit) nodes (aliases)")
        }
        guard depth <= YAML.depthLimit else {
            throw YAMLError(message: "the document nests more than \(YAML.depthLimit) levels deep", mark: mark)
        }
        guard !open[Int(index)] else {
            throw YAMLError(message: "an alias refers to a node that contains it", mark: mark)
        }
        open[Int(index)] = true
        defer { open[Int(index)] = false }

        switch raw.kind {
        case CONTAIN_YAML_SCALAR:
            let text = raw.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: raw.length), as: UTF8.self) } ?? ""
            return YAMLNode(kind: .scalar(text), mark: mark, isPlain: raw.plain != 0)
        case CONTAIN_YAML_SEQUENCE:
            var items: [YAMLNode] = []
            items.reserveCapacity(min(raw.count, YAML.nodeLimit))
            for position in 0..<raw.count {
                items.append(try node(contain_yaml_item(document, index, position), depth: depth + 1))
            }
            return YAMLNode(kind: .sequence(items), mark: mark, isPlain: false)
        default:
            var pairs: [YAMLPair] = []
            pairs.reserveCapacity(min(raw.count, YAML.nodeLimit))
            var keys: Set<String> = []
            for position in 0..<raw.count {
                var keyIndex: Int32 = 0, valueIndex: Int32 = 0
                guard contain_yaml_pair(document, index, position, &keyIndex, &valueIndex) == 0 else {
                    throw YAMLError(message: "libyaml returned a broken document")
                }
                let key = try node(keyIndex, depth: depth + 1)
                guard case .scalar(let name) = key.kind else {
                    throw YAMLError(message: "a mapping key must be a plain value", mark: key.mark)
                }
                guard keys.insert(name).inserted else {
                    throw YAMLError(message: "duplicate key `\(name)`", mark: key.mark)
                }
                pairs.append(YAMLPair(key: key, value: try node(valueIndex, depth: depth + 1)))
            }
            return YAMLNode(kind: .mapping(pairs), mark: mark, isPlain: false)
        }
    }
}
