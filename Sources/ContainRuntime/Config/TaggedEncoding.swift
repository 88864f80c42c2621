// A self-describing binary encoding: a message is a run of fields, each
//
//     tag: UInt16 LE | length: UInt32 LE | payload: `length` bytes
//
// | value                 | payload                                                      |
// |-----------------------|--------------------------------------------------------------|
// | String                | its UTF-8 bytes (validated on decoding)                      |
// | Bool                  | one byte, 0 or 1                                             |
// | UInt16/32/64, Int32/64| little-endian, exactly the type's size                       |
// | String-backed enum    | its raw value, as a String                                   |
// | nested message        | its own fields                                               |
// | list                  | the field repeated, once per element, in order (empty: none) |
// | `[String: String]`    | repeated `{key = 1, value = 2}` messages, sorted by key      |
// | optional              | absent when nil                                              |
//
// Decoding skips tags it does not know (a newer writer's fields), and rejects a truncated
// header, a length past the end of its message, a missing required field, a single-valued
// field given twice, and a payload that does not fit its type, naming the field path and
// the byte offset. A message is a type with a `Tag` enum (explicit raw values, never reused)
// and one line per field in `encode(to:)` and `init(from:)`.

/// Where a field sits, for errors (`ContainerConfig.linux.devices[2]`): built as decoding
/// descends, rendered only when an error is thrown.
public struct TaggedPath: Sendable, CustomStringConvertible {
    private let render: @Sendable () -> String

    public init(_ text: String) { render = { text } }
    public init(root: Any.Type) {
        let type = root
        render = { String(describing: type) }
    }
    private init(render: @escaping @Sendable () -> String) { self.render = render }

    public func field<Tag: FieldTag>(_ tag: Tag) -> TaggedPath {
        let parent = self
        return TaggedPath { parent.description + "." + String(describing: tag) }
    }

    public func index(_ i: Int) -> TaggedPath {
        let parent = self
        return TaggedPath { parent.description + "[\(i)]" }
    }

    public var description: String { render() }
}

/// A message's field numbers: `enum Tag: UInt16, FieldTag { case path = 1, readonly = 2 }`.
/// The case name is the field's name in decoding errors; `allCases` lets tests check that
/// every stored property has a tag.
public protocol FieldTag: RawRepresentable, CaseIterable, Sendable where RawValue == UInt16 {}

/// A value that can be a field's payload.
public protocol TaggedCodable {
    /// Appends the payload (not the tag and length) to `bytes`.
    func encodePayload(into bytes: inout [UInt8])
    /// `payload` keeps the indices of the whole buffer, so errors can name absolute offsets.
    init(payload: ArraySlice<UInt8>, path: TaggedPath) throws(TaggedDecodingError)
}

/// A struct (or enum) encoded as a run of fields.
public protocol TaggedMessage: TaggedCodable {
    associatedtype Tag: FieldTag
    func encode(to writer: inout TaggedWriter<Tag>)
    init(from reader: TaggedReader<Tag>) throws(TaggedDecodingError)
}

extension TaggedMessage {
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        encodePayload(into: &bytes)
        return bytes
    }

    public init(decoding bytes: [UInt8]) throws(TaggedDecodingError) {
        try self.init(payload: bytes[...], path: TaggedPath(root: Self.self))
    }

    public func encodePayload(into bytes: inout [UInt8]) {
        var writer = TaggedWriter<Tag>(appendingTo: bytes)
        bytes = []
        encode(to: &writer)
        bytes = writer.bytes
    }

    public init(payload: ArraySlice<UInt8>, path: TaggedPath) throws(TaggedDecodingError) {
        try self.init(from: TaggedReader(payload, path: path))
    }
}

public enum TaggedDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer bytes than a field header (6) left in the message.
    case truncated(path: String, offset: Int, available: Int)
    /// A field's length runs past the end of its message.
    case overlong(path: String, tag: UInt16, offset: Int, length: UInt32, available: Int)
    case missing(path: String, tag: UInt16)
    /// A single-valued field given more than once.
    case duplicate(path: String, offset: Int)
    /// A payload that does not fit the field's type.
    case invalid(path: String, offset: Int, reason: String)

    public var description: String {
        switch self {
        case .truncated(let path, let offset, let available):
            return "\(path): truncated field header at byte \(offset) (6 bytes needed, \(available) left)"
        case .overlong(let path, let tag, let offset, let length, let available):
            return "\(path): field tag \(tag) at byte \(offset) claims \(length) bytes, only \(available) left"
        case .missing(let path, let tag):
            return "\(path): missing required field (tag \(tag))"
        case .duplicate(let path, let offset):
            return "\(path): given more than once (again at byte \(offset))"
        case .invalid(let path, let offset, let reason):
            return "\(path) at byte \(offset): \(reason)"
        }
    }
}

// MARK: - Writing

public struct TaggedWriter<Key: FieldTag> {
    public private(set) var bytes: [UInt8]

    public init(appendingTo bytes: [UInt8] = []) { self.bytes = bytes }

    public mutating func field<Value: TaggedCodable>(_ tag: Key, _ value: Value) {
        raw(tag.rawValue) { value.encodePayload(into: &$0) }
    }

    /// Absent when nil.
    public mutating func field<Value: TaggedCodable>(_ tag: Key, _ value: Value?) {
        if let value { field(tag, value) }
    }

    /// One field per element, in order.
    public mutating func fields<Value: TaggedCodable>(_ tag: Key, _ values: [Value]) {
        for value in values { field(tag, value) }
    }

    /// One `{key = 1, value = 2}` message per entry, sorted by key.
    public mutating func entries(_ tag: Key, _ dictionary: [String: String]) {
        for (key, value) in dictionary.sorted(by: { $0.key < $1.key }) { field(tag, Entry(key: key, value: value)) }
    }

    /// An ad hoc nested message whose fields `body` writes.
    public mutating func nested<Inner: FieldTag>(_ tag: Key, as: Inner.Type, _ body: (inout TaggedWriter<Inner>) -> Void) {
        raw(tag.rawValue) { bytes in
            var inner = TaggedWriter<Inner>(appendingTo: bytes)
            bytes = []
            body(&inner)
            bytes = inner.bytes
        }
    }

    /// The building block: a header for `tag`, the payload `body` appends, then the length filled in.
    public mutating func raw(_ tag: UInt16, _ body: (inout [UInt8]) -> Void) {
        append(tag)
        let lengthAt = bytes.count
        append(UInt32(0))
        let start = bytes.count
        body(&bytes)
        let length = UInt32(bytes.count - start)
        for i in 0..<4 { bytes[lengthAt + i] = UInt8(truncatingIfNeeded: length >> (8 * i)) }
    }

    private mutating func append<T: FixedWidthInteger>(_ value: T) {
        for i in 0..<(T.bitWidth / 8) { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * i))) }
    }
}

// MARK: - Reading

/// One field of a tagged message. Not nested in the generic reader: an array of a type nested in
/// `TaggedReader<Key>` is a generic type of its own for every message type, whose metadata the
/// Swift runtime builds on first use, checking `Key: FieldTag` by scanning every conformance
/// record of the binary (most of a `contain exec`'s decoding of the configuration).
public struct TaggedField: Sendable {
    public let tag: UInt16
    /// Of the field's header, in the whole buffer.
    public let offset: Int
    public let payload: ArraySlice<UInt8>
}

public struct TaggedReader<Key: FieldTag> {
    public typealias Field = TaggedField

    /// Where this message sits, for errors: `ContainerConfig.linux.devices[2]`.
    public let path: TaggedPath
    /// Every field, known or not, in order.
    public let fields: [Field]

    /// Splits `bytes` into fields; fails on a truncated header or an overlong length.
    public init(_ bytes: ArraySlice<UInt8>, path: TaggedPath) throws(TaggedDecodingError) {
        self.path = path
        var fields: [Field] = []
        var at = bytes.startIndex
        while at < bytes.endIndex {
            let left = bytes.endIndex - at
            guard left >= 6 else { throw .truncated(path: path.description, offset: at, available: left) }
            let tag = UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
            var length: UInt32 = 0
            for i in 0..<4 { length |= UInt32(bytes[at + 2 + i]) << (8 * i) }
            guard UInt64(length) <= UInt64(left - 6) else {
                throw .overlong(path: path.description, tag: tag, offset: at, length: length, available: left - 6)
            }
            let start = at + 6
            fields.append(Field(tag: tag, offset: at, payload: bytes[start..<start + Int(length)]))
            at = start + Int(length)
        }
        self.fields = fields
    }

    /// Rendered only when an error needs it: naming an enum case takes reflection, which
    /// would cost every init a scan of the runtime's conformance tables.
    public func fieldPath(_ tag: Key) -> TaggedPath { path.field(tag) }

    /// The fields with this tag, in order.
    public func all(_ tag: Key) -> [Field] { fields.filter { $0.tag == tag.rawValue } }

    public func optional<Value: TaggedCodable>(_ tag: Key, as: Value.Type = Value.self) throws(TaggedDecodingError) -> Value? {
        let found = all(tag)
        guard let first = found.first else { return nil }
        if found.count > 1 { throw .duplicate(path: fieldPath(tag).description, offset: found[1].offset) }
        return try Value(payload: first.payload, path: fieldPath(tag))
    }

    public func required<Value: TaggedCodable>(_ tag: Key, as: Value.Type = Value.self) throws(TaggedDecodingError) -> Value {
        guard let value = try optional(tag, as: Value.self) else { throw .missing(path: fieldPath(tag).description, tag: tag.rawValue) }
        return value
    }

    /// For a field added after messages without it were written.
    public func value<Value: TaggedCodable>(_ tag: Key, default: Value) throws(TaggedDecodingError) -> Value {
        try optional(tag, as: Value.self) ?? `default`
    }

    public func repeated<Value: TaggedCodable>(_ tag: Key, as: Value.Type = Value.self) throws(TaggedDecodingError) -> [Value] {
        var values: [Value] = []
        for (i, field) in all(tag).enumerated() {
            values.append(try Value(payload: field.payload, path: fieldPath(tag).index(i)))
        }
        return values
    }

    public func entries(_ tag: Key) throws(TaggedDecodingError) -> [String: String] {
        var dictionary: [String: String] = [:]
        for (i, field) in all(tag).enumerated() {
            let entry = try Entry(payload: field.payload, path: fieldPath(tag).index(i))
            guard dictionary.updateValue(entry.value, forKey: entry.key) == nil else {
                throw .duplicate(path: fieldPath(tag).description + "[\(entry.key)]", offset: field.offset)
            }
        }
        return dictionary
    }

    /// The reader of an ad hoc nested message; nil when absent.
    public func nested<Inner: FieldTag>(_ tag: Key, as: Inner.Type) throws(TaggedDecodingError) -> TaggedReader<Inner>? {
        let found = all(tag)
        guard let first = found.first else { return nil }
        if found.count > 1 { throw .duplicate(path: fieldPath(tag).description, offset: found[1].offset) }
        return try TaggedReader<Inner>(first.payload, path: fieldPath(tag))
    }
}

/// A `[String: String]` entry: annotations, sysctls.
struct Entry: TaggedMessage {
    enum Tag: UInt16, FieldTag { case key = 1, value = 2 }
    var key: String
    var value: String

    init(key: String, value: String) { self.key = key; self.value = value }
    func encode(to w: inout TaggedWriter<Tag>) { w.field(.key, key); w.field(.value, value) }
    init(from r: TaggedReader<Tag>) throws(TaggedDecodingError) {
        key = try r.required(.key)
        value = try r.required(.value)
    }
}

// MARK: - Scalars

extension String: TaggedCodable {
    public func encodePayload(into bytes: inout [UInt8]) { bytes.append(contentsOf: utf8) }
    public init(payload: ArraySlice<UInt8>, path: TaggedPath) throws(TaggedDecodingError) {
        guard let text = String(validating: payload, as: UTF8.self) else {
            throw .invalid(path: path.description, offset: payload.startIndex, reason: "not valid UTF-8")
        }
        self = text
    }
}

extension Bool: TaggedCodable {
    public func encodePayload(into bytes: inout [UInt8]) { bytes.append(self ? 1 : 0) }
    public init(payload: ArraySlice<UInt8>, path: TaggedPath) throws(TaggedDecodingError) {
        guard payload.count == 1, let byte = payload.first, byte <= 1 else {
            throw .invalid(path: path.description, offset: payload.startIndex, reason: "expected one byte, 0 or 1")
        }
        self = byte == 1
    }
}

extension TaggedCodable where Self: FixedWidthInteger {
    public func encodePayload(into bytes: inout [UInt8]) {
        for i in 0..<(Self.bitWidth / 8) { bytes.append(UInt8(truncatingIfNeeded: self >> (8 * i))) }
    }
    public init(payload: ArraySlice<UInt8>, path: TaggedPath) throws(TaggedDecodingError) {
        guard payload.count == Self.bitWidth / 8 else {
            throw .invalid(path: path.description, offset: payload.startIndex,
                           reason: "expected \(Self.bitWidth / 8) bytes for \(Self.self), got \(payload.count)")
        }
        var value = Self.zero
        for (i, byte) in payload.enumerated() { value |= Self(truncatingIfNeeded: byte) << (8 * i) }
        self = value
    }
}

extension UInt16: TaggedCodable {}
extension UInt32: TaggedCodable {}
extension UInt64: TaggedCodable {}
extension Int32: TaggedCodable {}
extension Int64: TaggedCodable {}

/// Enums backed by a String, written as their raw value; an unknown value is an error.
extension TaggedCodable where Self: RawRepresentable, RawValue == String {
    public func encodePayload(into bytes: inout [UInt8]) { rawValue.encodePayload(into: &bytes) }
    public init(payload: ArraySlice<UInt8>, path: TaggedPath) throws(TaggedDecodingError) {
        let raw = try String(payload: payload, path: path)
        guard let value = Self(rawValue: raw) else {
            throw .invalid(path: path.description, offset: payload.startIndex, reason: "unknown value `\(raw)`")
        }
        self = value
    }
}
