/// A JSON value written byte for byte as Go's `encoding/json` writes it, which is what
/// runc prints and what engines (and people diffing against runc) expect: keys in the
/// order given (Go struct order), `"key": value` with two-space `MarshalIndent` or four-
/// space `Encoder.SetIndent`, and Go's HTML-safe string escaping (`<`, `>`, `&`, U+2028,
/// U+2029 as `\uXXXX`).
///
/// OCIJSON stays the format for documents Caisson owns (sorted keys, stable digests);
/// this is only for output whose exact shape runc defines.
package indirect enum GoJSON: Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case string(String)
    case array([GoJSON])
    /// Keys in output order.
    case object([(String, GoJSON)])

    package static func == (lhs: GoJSON, rhs: GoJSON) -> Bool { lhs.compact == rhs.compact }

    /// `json.Marshal` / `json.Encoder.Encode` without indentation (no trailing newline).
    package var compact: String {
        var out = ""
        write(into: &out, indent: nil, level: 0)
        return out
    }

    /// `json.MarshalIndent(value, "", indent)` (no trailing newline).
    package func indented(_ indent: String) -> String {
        var out = ""
        write(into: &out, indent: indent, level: 0)
        return out
    }

    private func write(into out: inout String, indent: String?, level: Int) {
        func newline(_ depth: Int) {
            guard let indent else { return }
            out += "\n" + String(repeating: indent, count: depth)
        }
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .int(let value): out += String(value)
        case .string(let value): Self.quote(value, into: &out)
        case .array(let elements):
            // Go prints an empty array as [] even when indenting.
            guard !elements.isEmpty else { out += "[]"; return }
            out += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { out += "," }
                newline(level + 1)
                element.write(into: &out, indent: indent, level: level + 1)
            }
            newline(level)
            out += "]"
        case .object(let members):
            guard !members.isEmpty else { out += "{}"; return }
            out += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out += "," }
                newline(level + 1)
                Self.quote(key, into: &out)
                out += indent == nil ? ":" : ": "
                value.write(into: &out, indent: indent, level: level + 1)
            }
            newline(level)
            out += "}"
        }
    }

    /// Go's `encodeState.string` with `escapeHTML` on (as of Go 1.19, which built the
    /// reference runc: only `\n`, `\r`, `\t` have short escapes).
    private static func quote(_ string: String, into out: inout String) {
        out += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                out += "\\u" + hex4(scalar.value)
            default:
                if scalar.value < 0x20 {
                    out += "\\u" + hex4(scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    private static func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
