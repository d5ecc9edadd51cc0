import ArgumentParser

/// Sizes on the command line (`--memory 512m`), as docker and runc spell them.
package enum ByteSize {
    /// "512m", "1g", "65536", "-1" → bytes (binary suffixes, as docker's RAMInBytes).
    package static func parse(_ text: String, flag: String) throws -> Int64 {
        let lower = String(text.lowercased().drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        if lower == "-1" { return -1 }
        let units: [(String, Int64)] = [("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30), ("tb", 1 << 40),
                                        ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("t", 1 << 40), ("b", 1)]
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            if let value = Double(lower.dropLast(suffix.count)), value >= 0 { return Int64(value * Double(factor)) }
        }
        guard let value = Int64(lower), value >= 0 else { throw ValidationError("\(flag): \"\(text)\" is not a size in bytes") }
        return value
    }
}
