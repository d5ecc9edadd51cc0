/// The one error type of the Registry module, printed as one line naming the
/// reference, URL or digest at fault.
public struct RegistryError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; compare against the static values.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case invalidChallenge, unauthorized, denied, notFound, digestMismatch, tooLarge, protocolError, transport
            case unsupported, invalidConfiguration, tls
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A `WWW-Authenticate` header does not parse.
        public static let invalidChallenge = Code(.invalidChallenge)
        /// The registry refused the credentials (or their absence).
        public static let unauthorized = Code(.unauthorized)
        /// The registry knows who is asking and refuses the operation (HTTP 403, `DENIED`).
        public static let denied = Code(.denied)
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
        /// Well-formed content that Caisson refuses (Docker schema 1 manifests).
        public static let unsupported = Code(.unsupported)
        /// A credential source or client setting is unusable (bad `config.json`, failing
        /// credential helper, plain HTTP to a registry not marked insecure).
        public static let invalidConfiguration = Code(.invalidConfiguration)

        /// A TLS handshake failed: the registry's certificate is not trusted (its CA is not
        /// configured) or not valid for its name, or the registry does not speak TLS.
        /// Not retried: trying again cannot change the outcome.
        public static let tls = Code(.tls)

        /// The code's name (`digestMismatch`).
        public var description: String { "\(value)" }
    }

    /// What kind of failure this is.
    public var code: Code
    /// One readable line naming the reference, URL or digest at fault.
    public var message: String
    /// The error codes the registry sent in its error body (`MANIFEST_UNKNOWN`, `DENIED`…).
    public var registryCodes: [String]
    /// The error that caused this one, if any.
    public var underlying: (any Error)?

    /// Creates an error.
    /// - Parameters:
    ///   - code: the failure kind.
    ///   - message: one line naming what is at fault.
    ///   - registryCodes: the distribution error codes from the response body, if any.
    ///   - underlying: the cause, if any.
    public init(_ code: Code, _ message: String, registryCodes: [String] = [], underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.registryCodes = registryCodes
        self.underlying = underlying
    }

    /// The message, followed by the underlying error if there is one.
    public var description: String {
        if let underlying { return "\(message): \(underlying)" }
        return message
    }
}
