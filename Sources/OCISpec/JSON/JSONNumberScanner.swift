/// Finds every number token of a JSON document, with its byte range and its field path
/// (`linux.uidMappings[0].hostID`), without building a tree: ``OCIJSON`` uses it to name
/// the field of a number that the decoder could not represent.
enum JSONNumberScanner {
    struct Number {
        /// Byte offsets of the token in the document.
        var range: Range<Int>
        /// The field path, written as ``OCIJSON/fieldPath(_:)`` writes one.
        var path: String
    }

    /// - Returns: the numbers in document order, or nil if the bytes are not JSON.
    static func numbers(in bytes: [UInt8]) -> [Number]? {
        var scanner = Scanner(bytes: bytes)
        scanner.skipSpace()
        guard scanner.value(path: "") else { return nil }
        scanner.skipSpace()
        return scanner.position == bytes.count ? scanner.found : nil
    }

    private struct Scanner {
        let bytes: [UInt8]
        var position = 0
        var found: [Number] = []

        init(bytes: [UInt8]) { self.bytes = bytes }

        var current: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipSpace() {
            while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
        }

        mutating func literal(_ text: String) -> Bool {
            for byte in text.utf8 {
                guard current == byte else { return false }
                position += 1
            }
            return true
        }

        /// Parses one value at `path`; false if it is not JSON.
        mutating func value(path: String) -> Bool {
            switch current {
            case UInt8(ascii: "{"): return object(path: path)
            case UInt8(ascii: "["): return array(path: path)
            case UInt8(ascii: "\""): return string() != nil
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            case .some(let byte) where byte == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte):
                let start = position
                while let byte = current, "+-.eE0123456789".utf8.contains(byte) { position += 1 }
                found.append(Number(range: start..<position, path: path.isEmpty ? "(document)" : path))
                return true
            default: return false
            }
        }

        mutating func object(path: String) -> Bool {
            position += 1
            skipSpace()
            if current == UInt8(ascii: "}") { position += 1; return true }
            while true {
                skipSpace()
                guard let key = string() else { return false }
                skipSpace()
                guard literal(":") else { return false }
                skipSpace()
                guard value(path: path.isEmpty ? key : path + "." + key) else { return false }
                skipSpace()
                if literal(",") { continue }
                return literal("}")
            }
        }

        mutating func array(path: String) -> Bool {
            position += 1
            skipSpace()
            if current == UInt8(ascii: "]") { position += 1; return true }
            var index = 0
            while true {
                skipSpace()
                guard value(path: path + "[\(index)]") else { return false }
                index += 1
                skipSpace()
                if literal(",") { continue }
                return literal("]")
            }
        }

        /// A string's raw text (escapes kept as written: keys of OCI documents have none).
        mutating func string() -> String? {
            guard current == UInt8(ascii: "\"") else { return nil }
            position += 1
            let start = position
            while let byte = current, byte != UInt8(ascii: "\"") {
                position += byte == UInt8(ascii: "\\") ? 2 : 1
            }
            guard current == UInt8(ascii: "\"") else { return nil }
            defer { position += 1 }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }
    }
}
