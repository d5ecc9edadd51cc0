#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// JSON coding for every OCISpec document.
///
/// Encoding is deterministic (sorted keys, no escaped slashes, absent optionals omitted),
/// so a document we wrote re-encodes to the same bytes and keeps its digest. Decoding
/// errors are turned into an ``OCISpecError`` whose message names the field path, e.g.
/// `linux.resources.memory.limit: expected integer`.
public enum OCIJSON {
    /// Encodes a value deterministically.
    /// - Parameters:
    ///   - value: the document.
    ///   - pretty: indent the output (as `runc spec` does); the default is compact.
    /// - Returns: UTF-8 JSON bytes.
    /// - Throws: ``OCISpecError`` with code `invalidDocument` if the value cannot be encoded.
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty
            ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
            : [.sortedKeys, .withoutEscapingSlashes]
        do {
            return try encoder.encode(value)
        } catch let error as EncodingError {
            switch error {
            case .invalidValue(_, let context):
                throw OCISpecError(.invalidDocument, "\(fieldPath(context.codingPath)): cannot encode: \(context.debugDescription)")
            @unknown default:
                throw OCISpecError(.invalidDocument, "cannot encode \(T.self): \(error)")
            }
        }
    }

    /// Decodes a document, naming the offending field path on failure.
    /// - Parameters:
    ///   - type: the document type.
    ///   - data: JSON bytes.
    /// - Returns: the decoded value.
    /// - Throws: ``OCISpecError`` with code `invalidDocument` naming the field path,
    ///   or whatever a type's own validation throws (e.g. `invalidDigest`).
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        let decoder = JSONDecoder()
        do {
            return try decoder.decode(type, from: data)
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty,
               let located = locateUnrepresentableNumber(type, in: data) {
                throw located
            }
            throw describe(error, document: T.self)
        } catch let error as OCISpecError {
            throw error
        } catch {
            throw OCISpecError(.invalidDocument, "\(T.self): \(error)")
        }
    }

    /// Foundation's JSONDecoder reports a number that does not fit its Swift type
    /// (negative for unsigned, too large, fractional for an integer) as a document-level
    /// error without a coding path. On that (rare, already failing) path, find the field:
    /// zero the numbers of the document one by one, in document order, until it decodes;
    /// the last one zeroed is the culprit. Works on the bytes (``JSONNumberScanner``), so
    /// every other number keeps its exact text.
    private static func locateUnrepresentableNumber<T: Decodable>(_ type: T.Type, in data: Data) -> OCISpecError? {
        guard let numbers = JSONNumberScanner.numbers(in: Array(data)) else { return nil }
        var zeroed: [JSONNumberScanner.Number] = []
        for number in numbers {
            zeroed.append(number)
            // Zeroing replaces a token by a shorter one: patch from the end so earlier offsets hold.
            var patched = Array(data)
            for done in zeroed.reversed() { patched.replaceSubrange(done.range, with: [UInt8(ascii: "0")]) }
            do {
                _ = try JSONDecoder().decode(type, from: Data(patched))
            } catch let error as DecodingError {
                if case .dataCorrupted(let context) = error, context.codingPath.isEmpty { continue }
            } catch {}
            // This number was the last one that kept the document from decoding.
            let token = String(decoding: data[data.startIndex + number.range.lowerBound ..< data.startIndex + number.range.upperBound], as: UTF8.self)
            return OCISpecError(.invalidDocument, "\(number.path): \(token) is out of range for this field")
        }
        return nil
    }

    /// Renders a coding path the way a user writes it: `process.args[0]`.
    public static func fieldPath(_ path: [any CodingKey]) -> String {
        var out = ""
        for key in path {
            if let index = key.intValue {
                out += "[\(index)]"
            } else {
                if !out.isEmpty { out += "." }
                out += key.stringValue
            }
        }
        return out.isEmpty ? "(document)" : out
    }

    static func describe(_ error: DecodingError, document: Any.Type) -> OCISpecError {
        switch error {
        case .typeMismatch(let type, let context):
            return OCISpecError(.invalidDocument, "\(fieldPath(context.codingPath)): expected \(jsonKind(type))")
        case .valueNotFound(let type, let context):
            return OCISpecError(.invalidDocument, "\(fieldPath(context.codingPath)): expected \(jsonKind(type)), found null")
        case .keyNotFound(let key, let context):
            return OCISpecError(.invalidDocument, "\(fieldPath(context.codingPath + [key])): required field is missing")
        case .dataCorrupted(let context):
            if let underlying = context.underlyingError as? OCISpecError {
                return OCISpecError(underlying.code, "\(fieldPath(context.codingPath)): \(underlying.message)")
            }
            if context.codingPath.isEmpty {
                return OCISpecError(.invalidDocument, "\(document): not valid JSON: \(context.debugDescription)")
            }
            return OCISpecError(.invalidDocument, "\(fieldPath(context.codingPath)): \(context.debugDescription)")
        @unknown default:
            return OCISpecError(.invalidDocument, "\(document): \(error)")
        }
    }

    private static func jsonKind(_ type: Any.Type) -> String {
        switch type {
        case is any BinaryInteger.Type: return "integer"
        case is any BinaryFloatingPoint.Type: return "number"
        case is String.Type: return "string"
        case is Bool.Type: return "boolean"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") || name.hasPrefix("[") { return "array" }
            if name.hasPrefix("Dictionary") { return "object" }
            return "object"
        }
    }
}
