/// One authentication challenge from a registry's `WWW-Authenticate` header.
///
/// Spec: RFC 7235 section 4.1 (challenge syntax), as used by the distribution token
/// auth flow (`Bearer realm="…",service="…",scope="…"`) and by basic auth.
public struct AuthChallenge: Hashable, Sendable {
    /// The auth scheme, lowercased (`bearer`, `basic`).
    public var scheme: String
    /// The auth parameters, keys lowercased (`realm`, `service`, `scope`, `error`).
    public var parameters: [String: String]

    /// Creates a challenge.
    /// - Parameters:
    ///   - scheme: the auth scheme; stored lowercased.
    ///   - parameters: the auth parameters; keys stored lowercased.
    public init(scheme: String, parameters: [String: String]) {
        self.scheme = scheme.lowercased()
        self.parameters = Dictionary(parameters.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    /// Parses every challenge in one `WWW-Authenticate` header value.
    ///
    /// A header may hold several challenges separated by commas, and parameter values
    /// may be quoted strings containing commas and escaped quotes.
    /// - Parameter header: the header value.
    /// - Returns: the challenges, in header order.
    /// - Throws: ``RegistryError`` with code `invalidChallenge` naming the header.
    public static func parse(_ header: String) throws -> [AuthChallenge] {
        var scanner = ChallengeScanner(Array(header.utf8))
        var challenges: [AuthChallenge] = []
        scanner.skip(whileIn: Self.spaceOrComma)
        while !scanner.atEnd {
            guard let scheme = scanner.token(), !scheme.isEmpty else {
                throw RegistryError(.invalidChallenge, "WWW-Authenticate \"\(header)\": expected an auth scheme")
            }
            var parameters: [String: String] = [:]
            scanner.skip(whileIn: Self.space)
            // Parameters follow until a token that is not followed by "=" (the next scheme).
            while !scanner.atEnd {
                let mark = scanner.position
                scanner.skip(whileIn: Self.spaceOrComma)
                guard let name = scanner.token(), !name.isEmpty else { break }
                scanner.skip(whileIn: Self.space)
                guard scanner.consume(UInt8(ascii: "=")) else {
                    scanner.position = mark  // a new challenge starts here
                    break
                }
                scanner.skip(whileIn: Self.space)
                let value: String
                if scanner.peek == UInt8(ascii: "\"") {
                    guard let quoted = scanner.quotedString() else {
                        throw RegistryError(.invalidChallenge, "WWW-Authenticate \"\(header)\": unterminated quoted value for \(name)")
                    }
                    value = quoted
                } else {
                    value = scanner.token() ?? ""
                }
                parameters[name.lowercased()] = value
                scanner.skip(whileIn: Self.space)
            }
            challenges.append(AuthChallenge(scheme: scheme, parameters: parameters))
            scanner.skip(whileIn: Self.spaceOrComma)
        }
        return challenges
    }

    private static let space: Set<UInt8> = [UInt8(ascii: " "), UInt8(ascii: "\t")]
    private static let spaceOrComma: Set<UInt8> = [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: ",")]
}

/// A byte scanner over an HTTP header value (RFC 7230 tokens and quoted strings).
private struct ChallengeScanner {
    let bytes: [UInt8]
    var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { position >= bytes.count }
    var peek: UInt8? { atEnd ? nil : bytes[position] }

    mutating func skip(whileIn set: Set<UInt8>) {
        while let byte = peek, set.contains(byte) { position += 1 }
    }

    mutating func consume(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        position += 1
        return true
    }

    /// An RFC 7230 token (plus "/" which token68 credentials and some registries use).
    mutating func token() -> String? {
        let start = position
        while let byte = peek, Self.isTokenByte(byte) { position += 1 }
        return position > start ? String(decoding: bytes[start..<position], as: UTF8.self) : nil
    }

    mutating func quotedString() -> String? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        var out: [UInt8] = []
        while let byte = peek {
            position += 1
            switch byte {
            case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let escaped = peek else { return nil }
                position += 1
                out.append(escaped)
            default: out.append(byte)
            }
        }
        return nil
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~/:".utf8.contains(byte)
        }
    }
}
