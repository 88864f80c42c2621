import ContainSystem
import FoundationEssentials

/// A JSON document as values, read by FoundationEssentials' JSONDecoder (the Foundation the
/// static binary already carries, without ICU), so that config.json can be walked key by key
/// and a key nobody reads refused rather than silently ignored. Objects keep their keys in
/// sorted order (JSONDecoder does not report the file's order; nothing here depends on it).
public indirect enum JSONValue: Equatable, Sendable, Decodable {
    case null
    case bool(Bool)
    case number(Double, text: String)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        if let object = try? decoder.container(keyedBy: Key.self) {
            var values: [String: JSONValue] = [:]
            for key in object.allKeys { values[key.stringValue] = try object.decode(JSONValue.self, forKey: key) }
            self = .object(values)
            return
        }
        if var array = try? decoder.unkeyedContainer() {
            var values: [JSONValue] = []
            while !array.isAtEnd { values.append(try array.decode(JSONValue.self)) }
            self = .array(values)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let bool = try? single.decode(Bool.self) {
            self = .bool(bool)
        } else if let integer = try? single.decode(Int64.self) {
            self = .number(Double(integer), text: String(integer))
        } else if let unsigned = try? single.decode(UInt64.self) {
            self = .number(Double(unsigned), text: String(unsigned))
        } else if let double = try? single.decode(Double.self) {
            self = .number(double, text: "\(double)")
        } else {
            self = .string(try single.decode(String.self))
        }
    }

    /// Parses `bytes`; the message says where JSONDecoder stopped.
    public static func parse(_ bytes: [UInt8]) throws(OCIError) -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch let error as DecodingError {
            switch error {
            case .dataCorrupted(let context):
                let detail = (context.underlyingError.map { "\($0)" } ?? context.debugDescription)
                throw OCIError("not valid JSON: \(detail)")
            default:
                throw OCIError("not valid JSON: \(error)")
            }
        } catch {
            throw OCIError("not valid JSON: \(error)")
        }
    }

    // MARK: writing

    /// Compact JSON text, keys in the order given (`ordered`) or sorted.
    public var text: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .number(_, let text): return text
        case .string(let value): return JSONText.quoted(value)
        case .array(let items): return "[" + items.map(\.text).joined(separator: ",") + "]"
        case .object(let fields):
            return "{" + fields.keys.sorted().map { JSONText.quoted($0) + ":" + fields[$0]!.text }.joined(separator: ",") + "}"
        }
    }

    /// An object whose keys are written in this order (runtime-spec's state, runc's output).
    public static func ordered(_ fields: [(String, JSONValue)]) -> OrderedObject { OrderedObject(fields: fields) }

    public struct OrderedObject {
        public var fields: [(String, JSONValue)]
        public var text: String { "{" + fields.map { JSONText.quoted($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}" }
    }

}

/// Why contain-oci refuses: one line.
public struct OCIError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
