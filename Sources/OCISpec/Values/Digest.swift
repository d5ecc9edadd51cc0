#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// Spec: image-spec v1.1 descriptor.md#digests
/// A content digest: an algorithm and its encoded hash, `sha256:6c3c624b…`.
///
/// Only the algorithms registered by the image spec are accepted: `sha256` (64 lowercase
/// hex characters) and `sha512` (128 lowercase hex characters). Anything else, including
/// uppercase hex, is an error naming the digest string. Encodes as its string form.
public struct Digest: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// A registered digest algorithm.
    public struct Algorithm: Hashable, Sendable, Comparable, CustomStringConvertible {
        /// The algorithm's name as written before the colon (`sha256`).
        public let name: String
        /// The number of lowercase hex characters of its encoded part.
        public let encodedLength: Int

        private init(name: String, encodedLength: Int) {
            self.name = name
            self.encodedLength = encodedLength
        }

        /// SHA-256, the image spec's default algorithm.
        public static let sha256 = Algorithm(name: "sha256", encodedLength: 64)
        /// SHA-512.
        public static let sha512 = Algorithm(name: "sha512", encodedLength: 128)

        /// Every algorithm Caisson supports.
        public static let all: [Algorithm] = [.sha256, .sha512]

        /// Looks up a registered algorithm by name.
        /// - Parameter name: the algorithm as written in a digest (`sha256`).
        /// - Returns: the algorithm, or `nil` if it is not registered.
        public static func named(_ name: String) -> Algorithm? {
            all.first { $0.name == name }
        }

        /// The algorithm's name.
        public var description: String { name }

        /// Orders algorithms by name.
        public static func < (lhs: Algorithm, rhs: Algorithm) -> Bool { lhs.name < rhs.name }
    }

    /// The hash algorithm.
    public let algorithm: Algorithm
    /// The lowercase hex encoding of the hash.
    public let encoded: String

    /// Parses and validates a digest string.
    /// - Parameter string: `algorithm:encoded`, e.g. `sha256:e3b0c442…`.
    /// - Throws: ``OCISpecError`` with code `invalidDigest` naming the string when the
    ///   grammar does not match, the algorithm is not registered, or the encoded part has
    ///   the wrong length or is not lowercase hex.
    public init(parsing string: String) throws {
        guard let colon = string.utf8.firstIndex(of: UInt8(ascii: ":")) else {
            throw Self.invalid(string, "missing ':' between algorithm and encoded hash")
        }
        let algorithmName = String(string[..<colon])
        let encoded = String(string[string.index(after: colon)...])
        try self.init(algorithmName: algorithmName, encoded: encoded, original: string)
    }

    /// Creates a digest from its parts, validating them.
    /// - Parameters:
    ///   - algorithm: a registered algorithm.
    ///   - encoded: the lowercase hex hash.
    /// - Throws: ``OCISpecError`` with code `invalidDigest` if `encoded` does not fit `algorithm`.
    public init(algorithm: Algorithm, encoded: String) throws {
        try self.init(algorithmName: algorithm.name, encoded: encoded, original: "\(algorithm.name):\(encoded)")
    }

    /// Internal unchecked initialiser for values produced by hashing.
    package init(uncheckedAlgorithm algorithm: Algorithm, encoded: String) {
        self.algorithm = algorithm
        self.encoded = encoded
    }

    private init(algorithmName: String, encoded: String, original: String) throws {
        guard !algorithmName.isEmpty else {
            throw Self.invalid(original, "empty algorithm")
        }
        guard Self.isValidAlgorithmGrammar(algorithmName) else {
            throw Self.invalid(original, "algorithm must match [a-z0-9]+([+._-][a-z0-9]+)*")
        }
        guard !encoded.isEmpty else {
            throw Self.invalid(original, "empty encoded hash")
        }
        guard encoded.utf8.allSatisfy(Self.isEncodedCharacter) else {
            throw Self.invalid(original, "encoded hash must match [a-zA-Z0-9=_-]+")
        }
        guard let algorithm = Algorithm.named(algorithmName) else {
            throw Self.invalid(original, "unsupported algorithm \"\(algorithmName)\" (supported: sha256, sha512)")
        }
        guard encoded.utf8.allSatisfy(Self.isLowercaseHex) else {
            throw Self.invalid(original, "\(algorithm.name) hash must be lowercase hex")
        }
        guard encoded.utf8.count == algorithm.encodedLength else {
            throw Self.invalid(
                original,
                "\(algorithm.name) hash must be \(algorithm.encodedLength) hex characters, found \(encoded.utf8.count)")
        }
        self.algorithm = algorithm
        self.encoded = encoded
    }

    /// `algorithm:encoded`.
    public var description: String { "\(algorithm.name):\(encoded)" }

    /// Orders digests by their string form.
    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.description < rhs.description }

    private static func invalid(_ string: String, _ reason: String) -> OCISpecError {
        OCISpecError(.invalidDigest, "invalid digest \"\(string)\": \(reason)")
    }

    private static func isValidAlgorithmGrammar(_ name: String) -> Bool {
        // [a-z0-9]+(?:[+._-][a-z0-9]+)*
        var previousWasSeparator = true
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                previousWasSeparator = false
            case UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                if previousWasSeparator { return false }
                previousWasSeparator = true
            default:
                return false
            }
        }
        return !previousWasSeparator
    }

    private static func isEncodedCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "="), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    private static func isLowercaseHex(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
        default: return false
        }
    }
}

extension Digest: Codable {
    /// Decodes a digest from its string form, validating it.
    /// - Throws: a `DecodingError.dataCorrupted` carrying the ``OCISpecError``, so
    ///   ``OCIJSON/decode(_:from:)`` reports the field path and the invalid digest.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let string = try container.decode(String.self)
        do {
            try self.init(parsing: string)
        } catch let error as OCISpecError {
            throw DecodingError.ociDataCorrupted(in: container, error)
        }
    }

    /// Encodes the digest as its string form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
