/// The one error type of the Caisson umbrella, printed as one line naming the container,
/// image or option at fault. Errors of the layers below (`SandboxError`,
/// `ImageStoreError`, `RegistryError`) pass through unchanged.
public struct EngineError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; compare against the static values.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case invalidConfiguration, imageNotFound, containerNotFound, invalidState, system
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// An option of a ``ContainerConfiguration`` (or an argument) is malformed.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// No image of that name or reference is in the store.
        public static let imageNotFound = Code(.imageNotFound)
        /// No container with that id is managed by the engine.
        public static let containerNotFound = Code(.containerNotFound)
        /// The container is not in a state that allows the operation.
        public static let invalidState = Code(.invalidState)
        /// A system call made by the engine itself failed.
        public static let system = Code(.system)

        public var description: String { "\(value)" }
    }

    /// What kind of failure this is.
    public var code: Code
    /// One readable line naming what is at fault.
    public var message: String
    /// The error that caused this one, if any.
    public var underlying: (any Error)?

    /// Creates an error.
    /// - Parameters:
    ///   - code: the failure kind.
    ///   - message: one line naming the container, image or option at fault.
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
