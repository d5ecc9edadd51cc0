/// The one error type of the ImageStore module, printed as one line naming the path,
/// digest or image at fault.
public struct ImageStoreError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; compare against the static values.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case io, notFound, corrupt, digestMismatch, sizeMismatch, unsafeLayer, locked, invalidLayout, invalidArchive
            case incomplete
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A filesystem operation failed; `underlying` holds the errno.
        public static let io = Code(.io)
        /// A blob, image or snapshot does not exist.
        public static let notFound = Code(.notFound)
        /// Stored content does not match what it claims to be.
        public static let corrupt = Code(.corrupt)
        /// Ingested bytes hash to another digest than expected.
        public static let digestMismatch = Code(.digestMismatch)
        /// Ingested bytes are more or fewer than expected.
        public static let sizeMismatch = Code(.sizeMismatch)
        /// A layer tries to write outside its target, or holds a forbidden entry.
        public static let unsafeLayer = Code(.unsafeLayer)
        /// Another process holds a lock the operation needs.
        public static let locked = Code(.locked)
        /// The store root is not a valid OCI image layout.
        public static let invalidLayout = Code(.invalidLayout)
        /// An image archive or layout to import is malformed: a missing blob or file, an
        /// entry escaping the archive root, a document that does not decode.
        public static let invalidArchive = Code(.invalidArchive)
        /// A layer was being unpacked from an ingest that ended without committing its
        /// blob (the download failed verification or stopped), or the unpack was
        /// cancelled: the partial snapshot was removed and nothing was committed.
        public static let incomplete = Code(.incomplete)

        public var description: String { "\(value)" }
    }

    /// What kind of failure this is.
    public var code: Code
    /// One readable line naming the path, digest or image at fault.
    public var message: String
    /// The error that caused this one, if any (e.g. an `Errno`-like POSIX error).
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
