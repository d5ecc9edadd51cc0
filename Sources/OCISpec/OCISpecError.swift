/// The one error type of the OCISpec module.
///
/// Printed as a single line that names what is at fault: the field path of a document
/// (`linux.resources.memory.limit: expected integer`), the reference or the digest.
public struct OCISpecError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is; compare against the static values.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case invalidDocument, invalidDigest, invalidReference, invalidPlatform
            case invalidMediaType, unsupported, digestMismatch
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A JSON document is malformed or does not match the schema.
        public static let invalidDocument = Code(.invalidDocument)
        /// A digest string is not of the image-spec grammar, or its algorithm is unknown.
        public static let invalidDigest = Code(.invalidDigest)
        /// An image reference does not parse.
        public static let invalidReference = Code(.invalidReference)
        /// A platform specifier does not parse.
        public static let invalidPlatform = Code(.invalidPlatform)
        /// A media type string is not `type/subtype`.
        public static let invalidMediaType = Code(.invalidMediaType)
        /// A well-formed input that Caisson refuses (e.g. Docker schema 1 manifests).
        public static let unsupported = Code(.unsupported)
        /// Content does not hash to the digest it claims.
        public static let digestMismatch = Code(.digestMismatch)

        public var description: String { "\(value)" }
    }

    /// What kind of failure this is.
    public var code: Code
    /// One readable line, naming the field path, reference or digest at fault.
    public var message: String

    /// Creates an error.
    /// - Parameters:
    ///   - code: the failure kind.
    ///   - message: a single line naming the thing at fault.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
