import Foundation

/// Any JSON value, kept as parsed: a CNI plugin's configuration carries fields that only
/// the plugin knows, and they must reach it unchanged (and Sendable, unlike `[String: Any]`).
enum JSONValue: Hashable, Sendable, Codable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Parses JSON text; nil when it is not JSON.
    static func parse(_ data: Data) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: data)
    }

    /// Compact JSON text (keys sorted, so equal values give equal bytes).
    var data: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a JSONValue cannot fail: every case is plain JSON (non-finite doubles
        // never come out of a parse).
        return (try? encoder.encode(self)) ?? Data("null".utf8)
    }

    /// The members of an object; nil for other values.
    var object: [String: JSONValue]? { if case .object(let value) = self { return value } else { return nil } }
    /// The elements of an array; nil for other values.
    var array: [JSONValue]? { if case .array(let value) = self { return value } else { return nil } }
    /// The text of a string; nil for other values.
    var string: String? { if case .string(let value) = self { return value } else { return nil } }
    /// The value of a boolean; nil for other values.
    var bool: Bool? { if case .bool(let value) = self { return value } else { return nil } }
    /// The value of an integral number; nil for other values.
    var integer: Int64? { if case .integer(let value) = self { return value } else { return nil } }

    /// The member `key` of an object; nil when absent or not an object.
    subscript(key: String) -> JSONValue? { object?[key] }
}
