/// The one error type of the Registry module, printed as one line naming the
/// reference, URL or digest at fault.
public struct RegistryError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; compare against the static values.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case invalidChallenge, unauthorized, notFound, digestMismatch, tooLarge, protocolError, transport
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A `WWW-Authenticate` header does not parse.
        public static let invalidChallenge = Code(.invalidChallenge)
        /// The registry refused the credentials (or their absence).
        public static let unauthorized = Code(.unauthorized)
        /// The repository, manifest or blob does not exist.
        public static let notFound = Code(.notFound)
        /// Content does not hash to the digest it was requested by.
        public static let digestMismatch = Code(.digestMismatch)
        /// A response exceeds the configured size bound.
        public static let tooLarge = Code(.tooLarge)
        /// The registry answered something the distribution spec does not allow.
        public static let protocolError = Code(.protocolError)
        /// The connection failed.
        public static let transport = Code(.transport)

        public var description: String { "\(value)" }
    }

    /// What kind of failure this is.
    public var code: Code
    /// One readable line naming the reference, URL or digest at fault.
    public var message: String
    /// The error that caused this one, if any.
    public var underlying: (any Error)?

    /// Creates an error.
    /// - Parameters:
    ///   - code: the failure kind.
    ///   - message: one line naming what is at fault.
    ///   - underlying: the cause, if any.
    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        if let underlying { return "\(message): \(underlying)" }
        return message
    }
}
